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
