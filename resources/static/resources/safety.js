/* Quick exit and the safety notice, on every public page. Loaded in <head> (not deferred) so that the
   keyboard shortcut works at once and a hidden notice never flashes; everything else waits for clicks.

   - "Leave this site" (#quick-exit) is a real link to a neutral page, so it works without JavaScript.
     With JavaScript it first blanks this page, then replaces the current history entry with the neutral
     page (location.replace): the Back button does not lead back here. It cannot erase browser history.
   - Shift pressed three times in a row (no other key between, within 2 seconds) does the same.
   - The notice is shown to everyone; "Hide this message" hides it for the rest of this browser tab's
     session (sessionStorage). No cookie, and nothing that outlives the tab. */
(function () {
  "use strict";
  var root = document.documentElement;
  var NOTICE_KEY = "notice-hidden";
  var SHIFT_PRESSES = 3;
  var SHIFT_WINDOW_MS = 2000;

  function remembered() {
    try {
      return window.sessionStorage.getItem(NOTICE_KEY) === "1";
    } catch (error) {
      return false; // storage blocked: the notice simply stays
    }
  }

  root.classList.add("js");
  if (remembered()) {
    root.classList.add("notice-hidden");
  }

  function leave(event) {
    var link = document.getElementById("quick-exit");
    if (event) {
      event.preventDefault();
    }
    if (document.body) {
      document.body.hidden = true;
    }
    document.title = "";
    try {
      window.sessionStorage.clear();
    } catch (error) {
      // nothing to clear
    }
    window.location.replace(link ? link.href : "about:blank");
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) {
      return;
    }
    if (target.closest("#quick-exit")) {
      leave(event);
    } else if (target.closest("#hide-safety-notice")) {
      try {
        window.sessionStorage.setItem(NOTICE_KEY, "1");
      } catch (error) {
        // hidden for this page only
      }
      root.classList.add("notice-hidden");
      var main = document.getElementById("main");
      if (main) {
        main.focus(); // the button is gone: keyboard users carry on from the content
      }
    }
  });

  var presses = 0;
  var firstPressAt = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift") {
      presses = 0; // typing capitals (Shift, letter, Shift, letter) never counts
      return;
    }
    if (event.repeat) {
      return;
    }
    var now = Date.now();
    if (presses === 0 || now - firstPressAt > SHIFT_WINDOW_MS) {
      presses = 0;
      firstPressAt = now;
    }
    presses += 1;
    if (presses >= SHIFT_PRESSES) {
      presses = 0;
      leave(null);
    }
  });
})();
