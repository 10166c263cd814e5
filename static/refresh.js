// Auto-refresh for the pages that offer it (the overview, the registrations page): the page
// carries a hidden switch, <p data-refresh="SECONDS"> with a checkbox inside. This script shows
// the switch, remembers its state per page in localStorage, and while it is on reloads the page
// every SECONDS. Without JavaScript the switch stays hidden and the page works as before. Served
// as a file, so the Content-Security-Policy keeps script-src 'self' and no inline script.
(function () {
  "use strict";
  var box = document.querySelector("[data-refresh]");
  if (!box) {
    return;
  }
  var input = box.querySelector("input[type=checkbox]");
  if (!input) {
    return;
  }
  var key = "pbx-pools.refresh:" + window.location.pathname;
  var timer = null;

  function remembered() {
    try {
      return window.localStorage.getItem(key) === "on";
    } catch (e) {
      return false;
    }
  }

  function remember(on) {
    try {
      window.localStorage.setItem(key, on ? "on" : "off");
    } catch (e) {
      // Storage refused (private mode): the switch still works for this page.
    }
  }

  function seconds() {
    var s = parseInt(box.getAttribute("data-refresh"), 10);
    return s > 0 ? s : 30;
  }

  // The admin is typing or has typed into a form (a dump being pasted): a reload would lose it.
  function busy() {
    var active = document.activeElement;
    if (active && active !== input && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) {
      return true;
    }
    var areas = document.querySelectorAll("textarea");
    for (var i = 0; i < areas.length; i++) {
      if (areas[i].value !== "") {
        return true;
      }
    }
    return false;
  }

  function schedule() {
    window.clearTimeout(timer);
    if (input.checked) {
      timer = window.setTimeout(tick, seconds() * 1000);
    }
  }

  function tick() {
    if (!input.checked) {
      return;
    }
    if (document.hidden || busy()) {
      schedule();
      return;
    }
    // A GET of the address, even when the page answered a form (no "resend the form?").
    window.location.replace(window.location.href);
  }

  input.checked = remembered();
  input.addEventListener("change", function () {
    remember(input.checked);
    schedule();
  });
  box.hidden = false;
  schedule();
})();
