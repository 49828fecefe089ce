/* Status widget. Embed with one tag: <script src="https://<status host>/widget.js" async></script>
 * It shows the page's current state where the tag stands, links to the page, and refreshes every minute.
 * Text from the page (its name) only ever enters as JSON values, never into comments or code. */
(function () {
  "use strict";
  var pageName = {{ page.name|tojson }};
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  var colours = {{ colours|tojson }};
  var link = document.createElement("a");
  link.href = origin + "/";
  link.className = "statuspage-widget";
  link.setAttribute("data-indicator", "loading");
  link.style.cssText = "display:inline-flex;align-items:center;gap:.4em;font:14px system-ui,sans-serif;color:inherit;text-decoration:none";
  var dot = document.createElement("span");
  dot.setAttribute("aria-hidden", "true");
  dot.style.cssText = "width:.7em;height:.7em;border-radius:50%;background:#999;display:inline-block";
  var text = document.createElement("span");
  text.textContent = "Loading status…";
  link.title = pageName;
  link.appendChild(dot);
  link.appendChild(text);
  script.parentNode.insertBefore(link, script.nextSibling);
  function refresh() {
    fetch(origin + "/api/v2/status.json", { credentials: "omit" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var indicator = data.status.indicator;
        text.textContent = data.status.description;
        dot.style.background = colours[indicator] || "#999";
        link.setAttribute("data-indicator", indicator);
        link.title = data.page.name + ": " + data.status.description;
      })
      .catch(function () { text.textContent = "Status unavailable"; });
  }
  refresh();
  setInterval(refresh, 60000);
})();
