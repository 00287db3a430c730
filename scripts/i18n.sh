#!/usr/bin/env bash
# Maintain the gettext catalogues of learner-facing texts (e-mails) under bridge/i18n.
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

extract() {
  "$PYBABEL" extract -F babel.cfg --project "EDC Bridge" --copyright-holder "EDC Bridge contributors" \
    --no-location --sort-output -o "$POT" bridge
}

case "${1:-all}" in
  extract) extract ;;
  update) extract; "$PYBABEL" update -i "$POT" -d "$DIR" --no-fuzzy-matching ;;
  init) extract; "$PYBABEL" init -i "$POT" -d "$DIR" -l "${2:?language code required}" ;;
  compile) "$PYBABEL" compile -d "$DIR" --statistics ;;
  all) extract; "$PYBABEL" update -i "$POT" -d "$DIR" --no-fuzzy-matching; "$PYBABEL" compile -d "$DIR" --statistics ;;
  *) echo "usage: $0 [extract|update|init <lang>|compile]" >&2; exit 2 ;;
esac
