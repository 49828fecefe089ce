// Progressive enhancement for the admin: live Markdown preview and recipient counts.
// Every form works without this file.
(function () {
  "use strict";
  function debounce(fn, ms) {
    let timer;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }
  document.querySelectorAll("textarea[data-preview]").forEach(function (area) {
    const target = document.getElementById(area.dataset.preview);
    if (!target) return;
    const update = debounce(function () {
      const body = new URLSearchParams({ body: area.value, csrf_token: target.dataset.csrf });
      fetch(target.dataset.url, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (data.html !== undefined) target.innerHTML = data.html; })
        .catch(function () { /* the preview is a convenience; the form still works */ });
    }, 250);
    area.addEventListener("input", update);
    if (area.value) update();
  });
  // "Notify subscribers (reaches N ...)": recount as the affected components change.
  document.querySelectorAll("[data-reach-url]").forEach(function (note) {
    const form = note.closest("form");
    const count = note.querySelector("[data-reach]");
    const recount = debounce(function () {
      const codes = note.dataset.reachBase ? note.dataset.reachBase.split(",") : [];
      form.querySelectorAll("select[name^='component-']").forEach(function (s) {
        if (s.value) codes.push(s.name.slice("component-".length));
      });
      form.querySelectorAll("input[name=component_ids]:checked").forEach(function (c) { codes.push(c.value); });
      fetch(note.dataset.reachUrl + "?components=" + encodeURIComponent(codes.join(",")), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (data.count !== undefined) count.textContent = data.count; })
        .catch(function () { /* the count shown when the page was drawn stays */ });
    }, 150);
    form.addEventListener("change", recount);
  });
})();
// Saved messages fill the form in place: what was typed elsewhere stays (without this, the link or the
// "Fill the form" button reloads the page filled by the server).
(function () {
  "use strict";
  function fillForm(form, values) {
    Object.keys(values).forEach(function (name) {
      const field = form.elements[name];
      if (!field) return;
      const value = values[name];
      if (field.type === "checkbox") { field.checked = value === "on"; }
      else if (name === "name" && field.value.trim()) { /* keep a title the responder typed */ }
      else { field.value = value; }
      field.dispatchEvent(new Event(field.tagName === "TEXTAREA" ? "input" : "change", { bubbles: true }));
    });
  }
  function fetchFill(url, form, otherwise) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (values) { fillForm(form, values); })
      .catch(otherwise);  // the server fills the form instead, as without this script
  }
  document.querySelectorAll("form.template-picker").forEach(function (picker) {
    const target = document.querySelector("form[method=post].wide");
    picker.addEventListener("submit", function (event) {
      if (!target) return;
      event.preventDefault();
      const code = picker.elements.template.value;
      fetchFill(picker.dataset.fillUrl.replace("CODE", encodeURIComponent(code)), target,
                function () { picker.submit(); });
    });
  });
  document.querySelectorAll("a[data-fill]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      fetchFill(link.dataset.fill, link.closest("form"), function () { window.location.href = link.href; });
    });
  });
  // "Set every chosen component to ...": the affected ones and those given a status already.
  document.querySelectorAll(".set-all").forEach(function (control) {
    const scope = control.closest("fieldset");
    control.hidden = false;
    control.querySelector("[data-apply-set-all]").addEventListener("click", function () {
      const status = control.querySelector("[data-set-all]").value;
      scope.querySelectorAll("select[name^='component-']").forEach(function (select) {
        if (select.value || select.hasAttribute("data-affected")) {
          select.value = status;
          select.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
    });
  });
  // The probe form shows only the fields of the chosen kind (without this file it shows them all), and the
  // detection time its schedule implies: interval + (failures - 1) x retry.
  document.querySelectorAll("form[data-probe-form] [name='kind']").forEach(function (kind) {
    const form = kind.closest("form");
    const show = function () {
      form.querySelectorAll("[data-kinds]").forEach(function (part) {
        const on = part.dataset.kinds.split(" ").indexOf(kind.value) >= 0;
        part.hidden = !on;
        part.querySelectorAll("input, select, textarea").forEach(function (field) { field.disabled = !on; });
      });
    };
    if (kind.tagName === "SELECT") kind.addEventListener("change", show);
    show();
    const detection = form.querySelector("[data-detection]");
    if (!detection) return;
    const number = function (name, fallback) {
      const field = form.querySelector("[name='" + name + "']");
      const value = field ? parseInt(field.value, 10) : NaN;
      return isNaN(value) ? fallback : value;
    };
    const recount = function () {
      const seconds = number("interval_seconds", 20) +
        Math.max(number("failures_to_outage", 2) - 1, 0) * number("retry_interval_seconds", 10);
      detection.textContent = seconds + " s";
    };
    ["interval_seconds", "retry_interval_seconds", "failures_to_outage"].forEach(function (name) {
      const field = form.querySelector("[name='" + name + "']");
      if (field) field.addEventListener("input", recount);
    });
  });
})();
