#!/usr/bin/env bash
# Maintain the gettext catalogues of learner-facing texts under bridge/i18n: "messages" (e-mails, pages,
# PDFs; babel.cfg), "codelists" (labels of the shipped code lists, extracted from their XSDs;
# babel-codelists.cfg) and "console" (the staff console, English and French; babel-console.cfg).
#   scripts/i18n.sh extract        # refresh bridge/i18n/messages.pot from the code and templates
#   scripts/i18n.sh update         # extract, then merge new strings into every <lang>/messages.po
#   scripts/i18n.sh init <lang>    # start a catalogue for a new language
#   scripts/i18n.sh compile        # build the .mo files the application loads (commit them too)
# With no argument: update then compile.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
[ -x "$PYBABEL" ] || PYBABEL=pybabel
DIR=bridge/i18n
POT="$DIR/messages.pot"
CODELISTS_POT="$DIR/codelists.pot"
CONSOLE_POT="$DIR/console.pot"
CONSOLE_LANGUAGES="fr"

extract() {
  "$PYBABEL" extract -F babel.cfg --project "EDC Bridge" --copyright-holder "EDC Bridge contributors" \
    --no-location --sort-output -o "$POT" bridge
  "$PYBABEL" extract -F babel-codelists.cfg --project "EDC Bridge" --copyright-holder "EDC Bridge contributors" \
    --no-location --sort-output -o "$CODELISTS_POT" bridge
  "$PYBABEL" extract -F babel-console.cfg --project "EDC Bridge" --copyright-holder "EDC Bridge contributors" \
    --no-location --sort-output -o "$CONSOLE_POT" bridge
}

update() {
  "$PYBABEL" update -i "$POT" -d "$DIR" --no-fuzzy-matching
  for po in "$DIR"/*/LC_MESSAGES/codelists.po; do
    [ -e "$po" ] && "$PYBABEL" update -i "$CODELISTS_POT" -D codelists -o "$po" --no-fuzzy-matching \
      -l "$(basename "$(dirname "$(dirname "$po")")")"
  done
  for lang in $CONSOLE_LANGUAGES; do
    po="$DIR/$lang/LC_MESSAGES/console.po"
    if [ -e "$po" ]; then
      "$PYBABEL" update -i "$CONSOLE_POT" -D console -o "$po" --no-fuzzy-matching -l "$lang"
    else
      "$PYBABEL" init -i "$CONSOLE_POT" -D console -o "$po" -l "$lang"
    fi
  done
}

compile() {
  "$PYBABEL" compile -d "$DIR" --statistics
  "$PYBABEL" compile -d "$DIR" -D codelists --statistics
  "$PYBABEL" compile -d "$DIR" -D console --statistics
}

case "${1:-all}" in
  extract) extract ;;
  update) extract; update ;;
  init) extract; "$PYBABEL" init -i "$POT" -d "$DIR" -l "${2:?language code required}" ;;
  compile) compile ;;
  all) extract; update; compile ;;
  *) echo "usage: $0 [extract|update|init <lang>|compile]" >&2; exit 2 ;;
esac
