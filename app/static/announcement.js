// Live progress of an announcement (admin/announcement.html): polls GET /api/announcements/<id> once a
// second and moves the progress bar and the counts without reloading the page. When every delivery is sent
// or failed it reloads once, so the server draws the failures and the retry button. A served file, not an
// inline script: the Content-Security-Policy allows scripts from this site only. Without JavaScript the
// page's <noscript> refresh does the same job.
(function () {
  "use strict";
  var bar = document.querySelector("progress[data-status-url]");
  if (!bar || !window.fetch) { return; }
  var url = bar.getAttribute("data-status-url");

  function show(counts) {
    bar.max = counts.total || 1;
    bar.value = counts.sent + counts.failed;
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var value = counts[el.getAttribute("data-count")];
      if (value !== undefined) {
        el.textContent = el.getAttribute("data-count") === "percent" ? Number(value).toFixed(1) : String(value);
      }
    });
    document.querySelectorAll("[data-count-if]").forEach(function (el) {
      el.hidden = !counts[el.getAttribute("data-count-if")];
    });
  }

  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        show(data.counts);
        if (data.counts.done) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 2000); });  // a busy or restarting server: try again
  }
  window.setTimeout(poll, 1000);
}());
