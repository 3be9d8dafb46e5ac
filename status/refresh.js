// Refreshes the status page in place. Every data-refresh-ms it fetches the page again and
// swaps the new #status in for the old: the rendering stays the server's (one template, and
// the page reads the same with scripts off), and a swap has none of a reload's flicker or
// jump to the top. A failed refresh keeps the last good state on screen, dimmed, under a
// banner saying why, and tries again next period, so the page recovers by itself.
(function () {
  "use strict";
  var body = document.body;
  var period = Number(body.getAttribute("data-refresh-ms"));
  if (!(period > 0) || !window.fetch || !window.DOMParser) {
    return; // the <noscript> meta refresh is not there either: this browser stays put
  }
  var banner = document.getElementById("stale");

  // swap puts fresh in place of the current #status, keeping open what the reader opened.
  function swap(fresh, title) {
    var old = document.getElementById("status");
    var open = {};
    old.querySelectorAll("details[open][id]").forEach(function (d) { open[d.id] = true; });
    fresh = document.adoptNode(fresh);
    fresh.querySelectorAll("details[id]").forEach(function (d) { d.open = !!open[d.id]; });
    old.replaceWith(fresh);
    document.title = title;
    banner.hidden = true;
    banner.textContent = "";
    body.setAttribute("data-refreshes", String(Number(body.getAttribute("data-refreshes")) + 1));
  }

  function failed(why) {
    document.getElementById("status").classList.add("stale");
    banner.textContent = "Refresh failed at " + new Date().toLocaleTimeString() + ": " + why +
      ". Showing the last state received; retrying every " + period / 1000 + " s.";
    banner.hidden = false;
  }

  function refresh() {
    // A refresh that outlives its period is abandoned, so that a hung appliance cannot
    // pile requests up; the next one starts a period after this one ends, never earlier.
    var ctl = window.AbortController ? new AbortController() : null;
    var abort = ctl ? setTimeout(function () { ctl.abort(); }, period) : 0;
    fetch(location.pathname + location.search, {
      cache: "no-store",
      credentials: "same-origin",
      headers: { "Accept": "text/html" },
      signal: ctl ? ctl.signal : undefined
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.getElementById("status");
        if (!resp.ok || !fresh) {
          var err = doc.getElementById("source-error");
          throw new Error(err ? err.textContent : "HTTP " + resp.status);
        }
        swap(fresh, doc.title);
      });
    }).catch(function (e) {
      failed(e && e.name === "AbortError" ? "no answer within " + period / 1000 + " s" : String(e && e.message || e));
    }).then(function () {
      clearTimeout(abort);
      schedule();
    });
  }

  // schedule waits a period, and while the tab is hidden, until it is shown again: a
  // forgotten background tab does not keep asking the appliance.
  function schedule() {
    setTimeout(function () {
      if (!document.hidden) {
        refresh();
        return;
      }
      document.addEventListener("visibilitychange", function shown() {
        if (!document.hidden) {
          document.removeEventListener("visibilitychange", shown);
          refresh();
        }
      });
    }, period);
  }

  schedule();
})();
