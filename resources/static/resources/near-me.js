/* "Use my location" on the search form: asks the browser where it is and searches from there.
   Served from our own static files; without it the page still works (type a ZIP code). The coordinates
   are rounded to 2 decimals (about 1 km) before they leave the browser, and the server uses them for
   that one search only. */
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  if (!button || !button.form || !navigator.geolocation) {
    return;
  }
  var form = button.form;
  var status = document.getElementById("location-status");
  var zip = form.elements.namedItem("near");

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function setHidden(name, value) {
    var input = form.querySelector('input[type="hidden"][name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  function forgetLocation() {
    ["lat", "lon"].forEach(function (name) {
      var input = form.querySelector('input[type="hidden"][name="' + name + '"]');
      if (input) {
        input.parentNode.removeChild(input);
      }
    });
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    say(button.getAttribute("data-finding"));
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        setHidden("lat", position.coords.latitude.toFixed(2));
        setHidden("lon", position.coords.longitude.toFixed(2));
        if (zip) {
          zip.value = "";
        }
        form.submit();
      },
      function (error) {
        button.disabled = false;
        say(button.getAttribute(error.code === error.PERMISSION_DENIED ? "data-denied" : "data-failed"));
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 }
    );
  });

  // A ZIP code typed after using the location replaces it.
  if (zip) {
    zip.addEventListener("input", forgetLocation);
  }
})();
