/* Learner view: the page renders from local state at once; the credential's status is asked for
   afterwards (and again while it is being issued), so a slow credential service never holds the page. */
function EdcCredentialStudent(runtime, element, args) {
  "use strict";
  var root = element.jquery ? element[0] : element;
  if (!root || args.state === null) { return; }
  var region = root.querySelector(".edc-status");
  var M = args.messages;
  var tries = 0;
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function para(text, cls) {
    var p = document.createElement("p");
    if (cls) { p.className = cls; }
    p.textContent = text;
    return p;
  }
  function link(href, text, cls, external) {
    var a = document.createElement("a");
    a.href = href; a.className = cls; a.textContent = text;
    if (external) { a.target = "_blank"; a.rel = "noopener"; }
    return a;
  }
  function show(status) {
    var state = status.state || "unknown";
    region.className = "edc-status edc-status-" + state;
    root.setAttribute("data-state", state);
    region.textContent = "";
    region.appendChild(para(M[state] || M.unknown));
    if (state === "issued" || state === "delivery_failed") {
      var links = para("", "edc-links");
      links.appendChild(link(args.download_url, M.download, "edc-download", false));
      if (state === "issued" && status.wallet_url) {
        links.appendChild(link(status.wallet_url, M.europass, "edc-europass", true));
      }
      region.appendChild(links);
    }
    if (status.reason) { region.appendChild(para(M.reason + " " + status.reason, "edc-reason")); }
  }
  function ask() {
    tries += 1;
    fetch(args.status_url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: "{}"})
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (status) {
        if (!status || !status.state) { return; }
        show(status);
        if ((status.state === "issuing" || status.state === "checking") && tries < 20) {
          setTimeout(ask, 3000 * tries);
        }
      })
      .catch(function () { if (tries < 3) { setTimeout(ask, 5000 * tries); } });
  }
  if (region) { ask(); }
}
