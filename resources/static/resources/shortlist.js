/* The shortlist: listings a caseworker keeps to print a referral sheet or share. Kept in this browser only
   (localStorage, key "shortlist": service UUIDs separated by commas); nothing is sent to the server except
   as the address of the shortlist and sheet pages (?s=...), which render what the address names.

   - "Add to shortlist" buttons (.shortlist-toggle, aria-pressed) add or remove their listing; the header
     link shows how many are kept.
   - The shortlist and sheet pages (#shortlist-page) opened without ?s= reopen with the kept list. Opened
     from a shared link that differs from it, they offer to keep that list instead. */
(function () {
  "use strict";
  var KEY = "shortlist";
  var MAX = 50; // as resources/shortlist.py
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  var page = document.getElementById("shortlist-page");
  var own = false; // the page shows the list kept in this browser

  function load() {
    var text = "";
    try {
      text = window.localStorage.getItem(KEY) || "";
    } catch (error) {
      // storage blocked: an empty shortlist
    }
    return text.split(",").filter(function (id) {
      return UUID.test(id);
    }).slice(0, MAX);
  }

  function save(list) {
    try {
      if (list.length) {
        window.localStorage.setItem(KEY, list.join(","));
      } else {
        window.localStorage.removeItem(KEY);
      }
    } catch (error) {
      // storage blocked: nothing can be kept
    }
    show();
  }

  function show() {
    var list = load();
    var count = document.getElementById("shortlist-count");
    if (count) {
      count.textContent = String(list.length);
    }
    document.querySelectorAll(".shortlist-toggle").forEach(function (button) {
      button.setAttribute("aria-pressed", String(list.indexOf(button.getAttribute("data-shortlist-id")) >= 0));
    });
  }

  function reopen(list) {
    window.location.replace(page.getAttribute("data-page-url") + (list.length ? "?s=" + list.join(",") : ""));
  }

  function copyLink(button) {
    var input = document.getElementById("share-link");
    var status = document.getElementById("share-status");
    function say(name) {
      status.textContent = button.getAttribute(name);
    }
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () {
        say("data-copied");
      }, function () {
        say("data-failed");
      });
    } else {
      say(document.execCommand("copy") ? "data-copied" : "data-failed");
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var button = target && target.closest("button");
    if (!button) {
      return;
    }
    var list = load();
    var id = button.getAttribute("data-shortlist-id");
    if (id) {
      var at = list.indexOf(id);
      if (at >= 0) {
        list.splice(at, 1);
      } else if (list.length < MAX) {
        list.push(id);
      }
      save(list);
      if (own) {
        reopen(list); // the shortlist page follows the kept list
      }
    } else if (button.id === "shortlist-clear") {
      save([]);
      reopen([]);
    } else if (button.id === "shortlist-keep") {
      save(page.getAttribute("data-ids").split(",").filter(Boolean));
      reopen(load());
    } else if (button.id === "copy-share-link") {
      copyLink(button);
    } else if (button.id === "print-sheet") {
      window.print();
    }
  });

  // Another tab changed the list.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY || event.key === null) {
      show();
    }
  });

  show();
  if (page) {
    var list = load().join(",");
    var asked = new URLSearchParams(window.location.search).get("s");
    var shown = page.getAttribute("data-ids");
    if (asked === null) {
      if (list) {
        reopen(load());
      }
    } else if (asked === list) {
      own = true;
      var clear = document.getElementById("shortlist-clear");
      if (clear) {
        clear.hidden = false;
      }
      if (shown !== list) {
        // Listings no longer public are dropped from the kept list too, so the count is what the page shows.
        save(shown.split(",").filter(Boolean));
        window.history.replaceState(null, "", page.getAttribute("data-page-url") + (shown ? "?s=" + shown : ""));
      }
    } else if (shown && shown !== list) {
      var shared = document.getElementById("shortlist-shared");
      if (shared) {
        shared.hidden = false;
      }
    }
  }
})();
