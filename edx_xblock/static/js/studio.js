/* Studio editor of the EDC credential block. The browser talks only to the block's handlers.
   The ESCO type-ahead follows the WAI-ARIA combobox pattern: arrows move through the options
   (aria-activedescendant, aria-selected), Enter picks, Escape closes, and a live region says
   how many skills were found and which one was chosen or removed. */
function EdcCredentialStudio(runtime, element, args) {
  "use strict";
  var root = element.jquery ? element[0] : element;
  var form = root.querySelector(".edc-form");
  var S = args.strings;
  var values = args.values;
  var MAX_SKILLS = 3;
  var uid = "edc" + Math.random().toString(36).slice(2, 8);
  var counter = 0;
  var live = root.querySelector(".edc-live");

  function announce(text) { live.textContent = ""; setTimeout(function () { live.textContent = text; }, 30); }
  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  /* Every answer is settled: JSON from the handler, or an error naming the HTTP status (403, 500,
     a proxy's HTML page...) — never a promise left pending. */
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: JSON.stringify(body)})
      .then(function (r) {
        if (!r.ok) { throw {status: r.status}; }
        return r.json().catch(function () { throw {status: r.status + " (not JSON)"}; });
      }, function () { throw {status: null}; });
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }
  function languages() {
    return form.elements.languages.value.trim().toLowerCase().split(/[\s,]+/).filter(Boolean);
  }

  /* Texts per language: one input per course language, rebuilt when the language list changes. */
  function langInputs(container, name, texts, multiline) {
    container.querySelectorAll(".edc-field").forEach(function (n) { n.remove(); });
    languages().forEach(function (lang) {
      var wrap = el("div", {"class": "edc-field", "data-field": name + "." + lang});
      var label = el("label", {}, lang + " ");
      var input = el(multiline ? "textarea" : "input", {"data-lang": lang, "lang": lang});
      input.value = (texts && texts[lang]) || "";
      label.appendChild(input);
      wrap.appendChild(label);
      wrap.appendChild(el("span", {"class": "edc-error"}));
      container.appendChild(wrap);
    });
  }
  function readTexts(container) {
    var out = {};
    container.querySelectorAll("[data-lang]").forEach(function (i) { out[i.getAttribute("data-lang")] = i.value; });
    return out;
  }

  /* One outcome: its texts and 1-3 ESCO skills picked through the combobox. */
  function addOutcome(outcome) {
    var list = form.querySelector(".edc-outcome-list");
    var n = ++counter;
    var item = el("li", {"class": "edc-outcome-item"});
    var texts = el("div", {"class": "edc-outcome-texts"});
    item.appendChild(texts);
    item._texts = (outcome && outcome.text) || {};
    item._skills = ((outcome && outcome.esco_skills) || []).slice();
    var chosen = el("ul", {"class": "edc-chosen", "aria-label": S.search_skill});
    var skillsField = el("div", {"class": "edc-field edc-skills-field"});
    var listId = uid + "-list-" + n;
    var search = el("input", {"type": "text", "class": "edc-skill-search", "placeholder": S.search_skill,
      "aria-label": S.search_skill, "role": "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
      "aria-controls": listId, "autocomplete": "off"});
    var suggestions = el("ul", {"class": "edc-suggestions", "role": "listbox", "id": listId,
      "aria-label": S.search_skill, "hidden": ""});
    skillsField.appendChild(chosen);
    skillsField.appendChild(search);
    skillsField.appendChild(suggestions);
    skillsField.appendChild(el("span", {"class": "edc-error"}));
    item.appendChild(skillsField);
    var remove = el("button", {"type": "button", "class": "edc-remove-outcome"}, S.remove);
    remove.addEventListener("click", function () { item.remove(); renumber(); });
    item.appendChild(remove);

    function labelOf(skill) {
      return (skill.labels && (skill.labels[args.lang] || skill.labels.en ||
        skill.labels[Object.keys(skill.labels)[0]])) || skill.uri;
    }
    function drawSkills() {
      chosen.textContent = "";
      item._skills.forEach(function (skill, j) {
        var chip = el("li", {"class": "edc-chosen-skill", "title": skill.uri}, labelOf(skill) + " ");
        var x = el("button", {"type": "button", "class": "edc-remove-skill",
          "aria-label": fmt(S.remove_skill, {label: labelOf(skill)})}, "×");
        x.addEventListener("click", function () {
          var label = labelOf(skill);
          item._skills.splice(j, 1);
          drawSkills();
          search.focus();
          announce(fmt(S.removed, {label: label}));
        });
        chip.appendChild(x);
        chosen.appendChild(chip);
      });
      var full = item._skills.length >= MAX_SKILLS;
      search.disabled = full;
      search.placeholder = full ? S.max_skills : S.search_skill;
    }

    var hits = [];
    var active = -1;
    function options() { return suggestions.querySelectorAll("[role=option]"); }
    function close() {
      suggestions.textContent = "";
      suggestions.hidden = true;
      search.setAttribute("aria-expanded", "false");
      search.removeAttribute("aria-activedescendant");
      hits = [];
      active = -1;
    }
    function setActive(i) {
      var opts = options();
      if (!opts.length) { return; }
      active = (i + opts.length) % opts.length;
      opts.forEach(function (o, k) { o.setAttribute("aria-selected", k === active ? "true" : "false"); });
      search.setAttribute("aria-activedescendant", opts[active].id);
      opts[active].scrollIntoView({block: "nearest"});
    }
    function pick(i) {
      var hit = hits[i];
      if (!hit) { return; }
      if (item._skills.length < MAX_SKILLS && !item._skills.some(function (s) { return s.uri === hit.uri; })) {
        var labels = {};
        labels[hit.lang || args.lang] = hit.label;
        item._skills.push({uri: hit.uri, labels: labels});
      }
      close();
      search.value = "";
      drawSkills();
      announce(fmt(S.chosen, {label: hit.label}));
      if (!search.disabled) { search.focus(); }
    }
    function showMessage(text) {
      suggestions.textContent = "";
      suggestions.appendChild(el("li", {"class": "edc-suggestion-note", "role": "presentation"}, text));
      suggestions.hidden = false;
      search.setAttribute("aria-expanded", "false");
      announce(text);
    }
    var timer = null;
    var seq = 0;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      var q = search.value.trim();
      if (q.length < 2) { close(); return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        post(args.search_url, {q: q, lang: args.lang}).then(function (answer) {
          if (mine !== seq) { return; }
          close();
          hits = answer.results || [];
          if (!hits.length) {
            showMessage((answer.errors && answer.errors.length && answer.errors[0].message) || S.no_results);
            return;
          }
          hits.forEach(function (hit, i) {
            var text = hit.label + (hit.lang && hit.lang !== args.lang ? " " + fmt(S.skill_in, {lang: hit.lang}) : "");
            var li = el("li", {"role": "option", "id": listId + "-" + i, "data-uri": hit.uri,
              "aria-selected": "false", "lang": hit.lang || args.lang}, text);
            li.addEventListener("mousedown", function (event) { event.preventDefault(); });
            li.addEventListener("click", function () { pick(i); });
            suggestions.appendChild(li);
          });
          suggestions.hidden = false;
          search.setAttribute("aria-expanded", "true");
          announce(fmt(S.results, {n: hits.length}));
        }, function (failure) {
          if (mine !== seq) { return; }
          showMessage(failure.status ? fmt(S.failed, {status: failure.status}) : S.network);
        });
      }, 250);
    });
    search.addEventListener("keydown", function (event) {
      var open = search.getAttribute("aria-expanded") === "true";
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (open) { setActive(active + 1); }
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (open) { setActive(active < 0 ? -1 : active - 1); }
      } else if (event.key === "Enter") {
        event.preventDefault();  /* never submits the form from the search box */
        if (open && active >= 0) { pick(active); }
      } else if (event.key === "Escape") {
        if (open || !suggestions.hidden) { event.preventDefault(); event.stopPropagation(); close(); }
        else if (search.value) { event.preventDefault(); search.value = ""; }
      } else if (event.key === "Tab") {
        close();
      }
    });
    search.addEventListener("blur", function () { setTimeout(close, 150); });
    list.appendChild(item);
    drawSkills();
    renumber();
  }
  function renumber() {
    /* Saving without outcomes is allowed; the hint says what the credential then lacks. */
    form.querySelector(".edc-no-outcomes").hidden = form.querySelectorAll(".edc-outcome-item").length > 0;
    form.querySelectorAll(".edc-outcome-item").forEach(function (item, i) {
      var texts = item.querySelector(".edc-outcome-texts");
      var current = texts.querySelector("[data-lang]") ? readTexts(texts) : item._texts;
      langInputs(texts, "learning_outcomes[" + i + "].text", current, true);
      item.querySelector(".edc-skills-field").setAttribute("data-field", "learning_outcomes[" + i + "].esco_skills");
      item.setAttribute("data-field", "learning_outcomes[" + i + "]");
    });
  }

  function fill() {
    form.elements.display_name.value = values.display_name || "";
    form.elements.languages.value = (values.languages || []).join(" ");
    ["ects", "eqf_level", "isced_f", "mode", "learning_setting", "volume_hours"].forEach(function (n) {
      form.elements[n].value = values[n] === null || values[n] === undefined ? "" : values[n];
    });
    form.querySelectorAll(".edc-lang-texts").forEach(function (fs) {
      langInputs(fs, fs.getAttribute("data-name"), values[fs.getAttribute("data-name")], fs.hasAttribute("data-multiline"));
    });
    (values.outcomes || []).forEach(addOutcome);
    renumber();
  }
  function collect() {
    var data = {display_name: form.elements.display_name.value, languages: languages(), outcomes: []};
    ["ects", "eqf_level", "isced_f", "mode", "learning_setting", "volume_hours"].forEach(function (n) {
      data[n] = form.elements[n].value;
    });
    form.querySelectorAll(".edc-lang-texts").forEach(function (fs) { data[fs.getAttribute("data-name")] = readTexts(fs); });
    form.querySelectorAll(".edc-outcome-item").forEach(function (item) {
      data.outcomes.push({text: readTexts(item.querySelector(".edc-outcome-texts")), esco_skills: item._skills});
    });
    return data;
  }

  /* Errors name template fields (title.fr, learning_outcomes[0].esco_skills[1]); show each next to the
     closest element, dropping trailing path parts until one matches. */
  function parentField(name) {
    var shorter = name.replace(/(\.[^.\[\]]*|\[\d+\])$/, "");
    return shorter === name ? "" : shorter;
  }
  function showErrors(errors) {
    form.querySelectorAll(".edc-error").forEach(function (n) { n.textContent = ""; });
    form.querySelectorAll(".edc-has-error").forEach(function (n) { n.classList.remove("edc-has-error"); });
    form.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    var general = [];
    var first = null;
    (errors || []).forEach(function (e) {
      var name = e.field || "";
      var target = null;
      while (name && !target) {
        target = form.querySelector('[data-field="' + name.replace(/"/g, "") + '"]');
        if (!target) { name = parentField(name); }
      }
      var slot = target && target.querySelector(".edc-error");
      if (slot) {
        slot.textContent = (slot.textContent ? slot.textContent + " " : "") + e.message;
        target.classList.add("edc-has-error");
        var input = target.querySelector("input, textarea, select");
        if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
      } else {
        general.push((e.field ? e.field + ": " : "") + e.message);
      }
    });
    if (first) { first.focus(); }
    return general;
  }

  form.querySelector(".edc-add-outcome").textContent = S.add_outcome;
  form.querySelector(".edc-add-outcome").addEventListener("click", function () {
    addOutcome(null);
    var items = form.querySelectorAll(".edc-outcome-item textarea");
    if (items.length) { items[items.length - 1 - (languages().length - 1)].focus(); }
  });
  form.elements.languages.addEventListener("change", function () {
    form.querySelectorAll(".edc-lang-texts").forEach(function (fs) {
      langInputs(fs, fs.getAttribute("data-name"), readTexts(fs), fs.hasAttribute("data-multiline"));
    });
    renumber();
  });
  var message = form.querySelector(".edc-form-message");
  var saving = false;
  function failed(text) {
    saving = false;
    message.textContent = text;
    if (runtime.notify) { runtime.notify("error", {title: S.errors, message: text}); }
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (saving) { return; }
    saving = true;
    message.textContent = S.saving;
    post(args.save_url, collect()).then(function (answer) {
      saving = false;
      if (answer.result === "saved") {
        showErrors([]);
        message.textContent = [S.saved].concat((answer.warnings || []).map(function (w) { return w.message; }))
          .join(" ");
        /* Studio's "Saving" notice is opened only once the save succeeded, and closed at once with the
           editor; a refused or failed save never leaves it open. */
        if (runtime.notify) { runtime.notify("save", {state: "start"}); runtime.notify("save", {state: "end"}); }
      } else {
        var general = showErrors(answer.errors);
        failed([S.errors].concat(general).join(" "));
      }
    }, function (failure) {
      failed(failure.status ? fmt(S.failed, {status: failure.status}) : S.network);
    });
  });
  form.querySelector(".cancel-button").addEventListener("click", function () {
    if (runtime.notify) { runtime.notify("cancel", {}); }
  });
  fill();
}
