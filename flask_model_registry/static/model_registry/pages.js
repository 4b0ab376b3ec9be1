// Small enhancements of the model registry pages; every page works without them.
(function () {
  "use strict";

  // Compare: enable the button only for 2 to N selected candidates, and say how many are selected.
  document.querySelectorAll("[data-compare-form]").forEach(function (form) {
    var max = parseInt(form.getAttribute("data-max"), 10) || 10;
    var button = form.querySelector("[data-compare-button]");
    var status = form.querySelector("[data-compare-status]");
    function update() {
      var n = form.querySelectorAll('input[name="ids"]:checked').length;
      var ok = n >= 2 && n <= max;
      if (button) { button.disabled = !ok; }
      if (status) {
        status.textContent = n === 0 ? "Select 2 to " + max + " candidates to compare."
          : n + " selected" + (n > max ? " (at most " + max + ")" : n < 2 ? " (select at least 2)" : "");
      }
    }
    form.addEventListener("change", update);
    update();
  });

  // Compare page: show only rows whose values differ, and keep the choice in the address.
  document.querySelectorAll("[data-only-diff]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll("[data-compare-body]").forEach(function (body) {
        body.classList.toggle("mr-only-diff", box.checked);
      });
      var url = new URL(window.location.href);
      if (box.checked) { url.searchParams.set("only_diff", "1"); } else { url.searchParams.delete("only_diff"); }
      window.history.replaceState(null, "", url.toString());
    });
  });

  // Destructive forms ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
