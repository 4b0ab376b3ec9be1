// The tracking URI's root: go on to the page the MLflow link's fragment names.
//   #/experiments/<id>/runs/<run_id>  the candidate
//   #/experiments/<id>                the experiment
//   #/models/<name>[/versions/<n>]    the model, or its version with MLflow number n
//   anything else                     the experiments
(function () {
  "use strict";
  var links = document.querySelector("[data-mr-links]");
  if (!links) { return; }
  var urls = links.dataset;

  function decoded(segment) {
    try { return decodeURIComponent(segment); } catch (e) { return ""; }
  }

  function target(fragment) {
    // The client may add "?workspace=..." after the fragment's path.
    var parts = fragment.replace(/^#\/?/, "").split("?")[0].split("/");
    if (parts[0] === "experiments" && /^[0-9]+$/.test(parts[1] || "")) {
      if (parts[2] === "runs" && /^[A-Za-z0-9_-]+$/.test(parts[3] || "")) {
        return urls.candidate.replace("RUN_ID", parts[3]);
      }
      return urls.experiments + "/" + parts[1];  // the rule /experiments/<int:iid>
    }
    var name = parts[0] === "models" ? decoded(parts[1] || "") : "";
    if (name) {
      var query = "?name=" + encodeURIComponent(name);
      if (parts[2] === "versions" && /^[0-9]+$/.test(parts[3] || "")) {
        query += "&version=" + parts[3];
      }
      return urls.model + query;
    }
    return urls.experiments;
  }

  window.location.replace(target(window.location.hash));
})();
