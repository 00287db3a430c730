/* Learner view: while the credential is being issued, ask the block again now and then. */
function EdcCredentialStudent(runtime, element, args) {
  "use strict";
  if (args.state !== "issuing") { return; }
  var root = element.jquery ? element[0] : element;
  var tries = 0;
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function poll() {
    tries += 1;
    fetch(args.status_url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: "{}"})
      .then(function (r) { return r.json(); })
      .then(function (status) {
        if (status.state && status.state !== "issuing") { window.location.reload(); }
        else if (tries < 20) { setTimeout(poll, 3000 * tries); }
      });
  }
  if (root) { setTimeout(poll, 3000); }
}
