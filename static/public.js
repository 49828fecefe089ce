// The public page's one script. Without it the page shows everything, with a Refresh link.
// 1. Day by day details behind each component's uptime bars: a button (keyboard) or a tap on a bar fetches
//    the component's days (/uptime/<id>.json, one small cached document) and lists them in words.
// 2. Live refresh in place: every minute by default (and on returning to the tab) it asks the small status.json whether
//    the page has a newer version than the one shown (its ETag names the version), and only then fetches
//    the page and swaps its content, announcing it, instead of reloading the whole page on a timer.
(function () {
  "use strict";

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function formatDate(iso) {
    var date = new Date(iso + "T00:00:00Z");
    return date.toLocaleDateString(undefined, { timeZone: "UTC", year: "numeric", month: "short", day: "numeric" });
  }

  function describeDay(day) {
    var item = element("li", "uptime-day status-" + (day.status || "none"));
    item.dataset.date = day.date;
    item.tabIndex = -1;
    item.appendChild(element("strong", "", formatDate(day.date)));
    item.appendChild(document.createTextNode(": " + day.status_label + ", " + day.uptime_label + " uptime"));
    day.incidents.forEach(function (incident) {
      item.appendChild(document.createTextNode(" · "));
      var link = element("a", "", incident.name);
      link.href = incident.url;
      item.appendChild(link);
    });
    return item;
  }

  function notable(day) {
    return day.status && (day.status !== "operational" || day.incidents.length > 0);
  }

  function fill(region, data, chosenDate) {
    region.textContent = "";
    var shown = data.days.filter(function (day) { return notable(day) || day.date === chosenDate; }).reverse();
    var quiet = data.days.filter(function (day) { return day.status && !notable(day); }).length;
    if (shown.length) {
      var list = element("ul", "uptime-day-list");
      shown.forEach(function (day) { list.appendChild(describeDay(day)); });
      region.appendChild(list);
    }
    var summary = shown.length ? quiet + " other days fully operational." : "Fully operational every day shown.";
    region.appendChild(element("p", "uptime-day-summary", summary));
  }

  function open(button, chosenDate) {
    var region = document.getElementById(button.getAttribute("aria-controls"));
    var show = function (data) {
      fill(region, data, chosenDate);
      region.hidden = false;
      button.setAttribute("aria-expanded", "true");
      var chosen = chosenDate && region.querySelector('[data-date="' + chosenDate + '"]');
      if (chosen) { chosen.classList.add("chosen"); chosen.focus(); }
    };
    if (button._days) { show(button._days); return; }
    region.hidden = false;
    region.textContent = "Loading…";
    fetch(button.dataset.days, { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) { button._days = data; show(data); })
      .catch(function () { region.textContent = "The daily details could not be loaded; try again shortly."; });
  }

  function close(button) {
    document.getElementById(button.getAttribute("aria-controls")).hidden = true;
    button.setAttribute("aria-expanded", "false");
  }

  function componentName(uptime) {
    // The component's name is the first text of its .name (a span, or a disclosure's summary).
    var name = uptime.closest("li").querySelector(".name");
    var first = name && name.firstChild;
    if (first && first.nodeType !== Node.TEXT_NODE) { first = first.firstChild; }
    return first ? first.textContent.trim() : "";
  }

  function enhanceUptime(root) {
    root.querySelectorAll(".uptime[data-days]").forEach(function (uptime, index) {
      // The button and the region it controls are made here: readers without this script never see them,
      // and a page of hundreds of components does not carry them.
      var region = element("div", "uptime-days");
      region.id = "uptime-days-" + index;
      region.hidden = true;
      var button = element("button", "uptime-toggle link-button", "Day by day");
      button.type = "button";
      button.dataset.days = uptime.dataset.days;
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", region.id);
      button.appendChild(element("span", "visually-hidden", " for " + componentName(uptime)));
      uptime.appendChild(button);
      uptime.appendChild(region);
      enhanceToggle(button);
    });
  }

  function enhanceToggle(button) {
    button.addEventListener("click", function () {
      if (button.getAttribute("aria-expanded") === "true") { close(button); } else { open(button); }
    });
    var bars = button.parentNode.querySelector(".uptime-bars");
    if (!bars) { return; }
    bars.addEventListener("click", function (event) {
      var box = bars.getBoundingClientRect();
      var count = bars.viewBox.baseVal.width / 5;
      var index = Math.min(count - 1, Math.max(0, Math.floor((event.clientX - box.left) / box.width * count)));
      var day = new Date();
      day.setUTCDate(day.getUTCDate() - (count - 1 - index));
      open(button, day.toISOString().slice(0, 10));
    });
  }

  var versionMeta = document.querySelector('meta[name="statuspage-version"]');
  var refreshMeta = document.querySelector('meta[name="statuspage-refresh"]');
  // Set on the admin's Settings page; 0 means the page is refreshed only when the reader asks.
  var refreshSeconds = refreshMeta ? parseInt(refreshMeta.content, 10) : 60;
  var announcer = element("p", "visually-hidden");
  announcer.setAttribute("role", "status");
  document.body.appendChild(announcer);

  function shownVersion() {
    return versionMeta ? versionMeta.content : "";
  }

  function versionOf(etag) {
    // "v12-2026-12-06", "v12-2026-12-06-gz" or W/"..." -> 12-2026-12-06
    return (etag || "").replace(/^W\//, "").replace(/"/g, "").replace(/^v/, "").replace(/-(gz|br)$/, "");
  }

  function swapIn(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var freshMain = fresh.querySelector("main");
    var freshVersion = fresh.querySelector('meta[name="statuspage-version"]');
    if (!freshMain) { return; }
    document.querySelector("main").innerHTML = freshMain.innerHTML;
    var footer = document.querySelector("footer");
    var freshFooter = fresh.querySelector("footer");
    if (footer && freshFooter) { footer.innerHTML = freshFooter.innerHTML; }
    document.title = fresh.title;
    if (versionMeta && freshVersion) { versionMeta.content = freshVersion.content; }
    enhanceUptime(document);
    var now = new Date().toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    announcer.textContent = "Status updated at " + now + ": " + document.querySelector("h1").textContent;
  }

  function refresh() {
    if (document.visibilityState === "hidden" || !versionMeta) { return; }
    fetch("/api/v2/status.json", { cache: "no-cache" })
      .then(function (response) {
        var latest = versionOf(response.headers.get("ETag"));
        if (!response.ok || !latest || latest === shownVersion()) { return null; }
        return fetch(window.location.pathname + window.location.search, { cache: "no-cache" });
      })
      .then(function (response) { return response && response.ok ? response.text() : null; })
      .then(function (html) { if (html) { swapIn(html); } })
      .catch(function () { /* offline or the page is down: keep showing what we have, try again later */ });
  }

  enhanceUptime(document);
  if (refreshSeconds > 0) {
    window.setInterval(refresh, refreshSeconds * 1000);
    document.addEventListener("visibilitychange", refresh);
  }
})();
