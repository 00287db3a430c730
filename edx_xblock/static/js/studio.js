/* Studio editor of the EDC credential block. The browser talks only to the block's handlers. */
function EdcCredentialStudio(runtime, element, args) {
  "use strict";
  var root = element.jquery ? element[0] : element;
  var form = root.querySelector(".edc-form");
  var S = args.strings;
  var values = args.values;
  var MAX_SKILLS = 3;

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: JSON.stringify(body)})
      .then(function (r) { return r.json(); });
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

  /* One outcome: its texts and 1-3 ESCO skills picked through the type-ahead search handler. */
  function addOutcome(outcome) {
    var list = form.querySelector(".edc-outcome-list");
    var item = el("li", {"class": "edc-outcome-item"});
    var texts = el("div", {"class": "edc-outcome-texts"});
    item.appendChild(texts);
    item._texts = (outcome && outcome.text) || {};
    item._skills = ((outcome && outcome.esco_skills) || []).slice();
    var chosen = el("div", {"class": "edc-chosen"});
    var skillsField = el("div", {"class": "edc-field edc-skills-field"});
    var search = el("input", {"type": "search", "placeholder": S.search_skill, "aria-label": S.search_skill,
      "role": "combobox", "aria-autocomplete": "list", "aria-expanded": "false"});
    var suggestions = el("ul", {"class": "edc-suggestions", "role": "listbox"});
    skillsField.appendChild(chosen);
    skillsField.appendChild(search);
    skillsField.appendChild(suggestions);
    skillsField.appendChild(el("span", {"class": "edc-error"}));
    item.appendChild(skillsField);
    var remove = el("button", {"type": "button", "class": "edc-remove-outcome"}, S.remove);
    remove.addEventListener("click", function () { item.remove(); renumber(); });
    item.appendChild(remove);

    function drawSkills() {
      chosen.textContent = "";
      item._skills.forEach(function (skill, j) {
        var label = (skill.labels && (skill.labels[args.lang] || skill.labels.en)) || skill.uri;
        var chip = el("span", {"class": "edc-chosen-skill", "title": skill.uri}, label + " ");
        var x = el("button", {"type": "button", "aria-label": S.remove}, "×");
        x.addEventListener("click", function () { item._skills.splice(j, 1); drawSkills(); });
        chip.appendChild(x);
        chosen.appendChild(chip);
      });
      search.disabled = item._skills.length >= MAX_SKILLS;
      search.placeholder = search.disabled ? S.max_skills : S.search_skill;
    }
    var timer = null;
    var seq = 0;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      var q = search.value.trim();
      if (q.length < 2) { suggestions.textContent = ""; return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        suggestions.textContent = "";
        suggestions.appendChild(el("li", {}, S.searching));
        post(args.search_url, {q: q, lang: args.lang}).then(function (answer) {
          if (mine !== seq) { return; }
          suggestions.textContent = "";
          var hits = answer.results || [];
          if (!hits.length) {
            suggestions.appendChild(el("li", {}, (answer.errors && answer.errors[0].message) || S.no_results));
          }
          hits.forEach(function (hit) {
            var li = el("li", {"role": "option", "data-uri": hit.uri}, hit.label);
            li.addEventListener("click", function () {
              if (item._skills.length < MAX_SKILLS && !item._skills.some(function (s) { return s.uri === hit.uri; })) {
                var labels = {};
                labels[answer.lang || args.lang] = hit.label;
                item._skills.push({uri: hit.uri, labels: labels});
              }
              suggestions.textContent = "";
              search.value = "";
              drawSkills();
            });
            suggestions.appendChild(li);
          });
          search.setAttribute("aria-expanded", hits.length ? "true" : "false");
        });
      }, 250);
    });
    list.appendChild(item);
    drawSkills();
    renumber();
  }
  function renumber() {
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
    var general = [];
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
      } else {
        general.push((e.field ? e.field + ": " : "") + e.message);
      }
    });
    return general;
  }

  form.querySelector(".edc-add-outcome").textContent = S.add_outcome;
  form.querySelector(".edc-add-outcome").addEventListener("click", function () { addOutcome(null); });
  form.elements.languages.addEventListener("change", function () {
    form.querySelectorAll(".edc-lang-texts").forEach(function (fs) {
      langInputs(fs, fs.getAttribute("data-name"), readTexts(fs), fs.hasAttribute("data-multiline"));
    });
    renumber();
  });
  var message = form.querySelector(".edc-form-message");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    message.textContent = S.saving;
    if (runtime.notify) { runtime.notify("save", {state: "start"}); }
    post(args.save_url, collect()).then(function (answer) {
      if (answer.result === "saved") {
        showErrors([]);
        var notes = [S.saved];
        var esco = answer.esco || {};
        if ((esco.unknown || []).length) { notes.push(S.unknown_skills + " " + esco.unknown.join(", ")); }
        if ((esco.obsolete || []).length) {
          notes.push(S.obsolete_skills + " " + esco.obsolete.map(function (o) { return o.uri || o; }).join(", "));
        }
        message.textContent = notes.join(" ");
        if (runtime.notify) { runtime.notify("save", {state: "end"}); }
      } else {
        var general = showErrors(answer.errors);
        message.textContent = [S.errors].concat(general).join(" ");
        if (runtime.notify) { runtime.notify("error", {title: S.errors, message: general.join(" ")}); }
      }
    });
  });
  form.querySelector(".cancel-button").addEventListener("click", function () {
    if (runtime.notify) { runtime.notify("cancel", {}); }
  });
  fill();
}
