<?php
// This file is part of local_edcbridge, the Moodle side of EDC Bridge.
//
// local_edcbridge is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// local_edcbridge is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <http://www.gnu.org/licenses/>.

namespace local_edcbridge\local;

/**
 * Builds the sidecar's course template and completion from plain arrays.
 *
 * Pure PHP (no Moodle calls) so php-cli can unit-test it; the task gathers the Moodle data and
 * hands it over as arrays. The rules match the Python poller's: ESCO-tagged competencies
 * (idnumber = ESCO skill URI) become learning outcomes, custom fields give ECTS, EQF level,
 * ISCED-F and languages, multilang markup becomes language maps.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class payload_builder {
    /** ESCO skill URIs as carried in competency idnumbers. */
    const ESCO_SKILL_URI = '~^http://data\.europa\.eu/esco/skill/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$~';

    /** @var string source name registered in the sidecar */
    private $source;

    /** @var array template key => course custom field short name */
    private $fields;

    /**
     * Constructor.
     *
     * @param string $source source name registered in the sidecar
     * @param array $fields custom field short names for ects, eqf_level, isced_f, language
     */
    public function __construct(string $source, array $fields = []) {
        $this->source = $source;
        $this->fields = array_merge(
            ['ects' => 'edc_ects', 'eqf_level' => 'edc_eqf', 'isced_f' => 'edc_iscedf', 'language' => 'edc_lang'],
            array_filter($fields)
        );
    }

    /**
     * Moodle language (fr_ca) to the ISO 639 code ELM uses (fr).
     *
     * @param string|null $lang Moodle language code
     * @return string|null the code, or null when there is none
     */
    public static function language_code(?string $lang): ?string {
        if ($lang === null || trim($lang) === '') {
            return null;
        }
        $code = explode('_', str_replace('-', '_', strtolower(trim($lang))))[0];
        return preg_match('/^[a-z]{2,3}$/', $code) ? $code : null;
    }

    /**
     * Tags and entities out, whitespace folded.
     *
     * @param string $text HTML or plain text
     * @return string plain text
     */
    public static function plain_text(string $text): string {
        $text = html_entity_decode(preg_replace('/<[^>]+>/', ' ', $text), ENT_QUOTES | ENT_HTML5, 'UTF-8');
        return trim(preg_replace('/\s+/u', ' ', $text));
    }

    /**
     * Split multilang markup into a language map; unmarked text belongs to $default.
     *
     * @param string|null $text text with optional multilang spans or {mlang} tags
     * @param string $default language of unmarked text
     * @return array language code => text
     */
    public static function language_map(?string $text, string $default): array {
        if ($text === null || $text === '') {
            return [];
        }
        $found = [];
        $patterns = [
            '~<span\s+(?=[^>]*class="multilang")[^>]*lang="([A-Za-z_-]+)"[^>]*>(.*?)</span>~is',
            '~\{mlang\s+([A-Za-z_-]+)\}(.*?)\{mlang\}~is',
        ];
        foreach ($patterns as $pattern) {
            preg_match_all($pattern, $text, $matches, PREG_SET_ORDER);
            foreach ($matches as $match) {
                $code = strtolower($match[1]) === 'other' ? 'other' : self::language_code($match[1]);
                $clean = self::plain_text($match[2]);
                if ($code !== null && $clean !== '' && !isset($found[$code])) {
                    $found[$code] = $clean;
                }
            }
        }
        if ($found) {
            if (isset($found['other'])) {
                if (!isset($found[$default])) {
                    $found[$default] = $found['other'];
                }
                unset($found['other']);
            }
            return $found;
        }
        $clean = self::plain_text($text);
        return $clean === '' ? [] : [$default => $clean];
    }

    /**
     * The course template: config defaults, then course metadata, then ESCO-tagged outcomes.
     *
     * @param array $course fullname, summary, lang
     * @param array $customfields custom field short name => value (label for select fields)
     * @param array $competencies list of [id, shortname, idnumber, description]
     * @param array $defaults template defaults (awarding body, mode, assessment...)
     * @return array ['template' => array, 'warnings' => string[]]
     * @throws \InvalidArgumentException naming the custom field when a value is invalid
     */
    public function build_template(array $course, array $customfields, array $competencies, array $defaults): array {
        $template = $defaults;
        $values = [];
        foreach ($customfields as $name => $value) {
            if ($value !== null && trim((string) $value) !== '') {
                $values[$name] = trim((string) $value);
            }
        }
        $languages = $template['languages'] ?? [];
        $langfield = $this->fields['language'];
        if (isset($values[$langfield])) {
            $languages = [];
            foreach (preg_split('/[,;\s]+/', $values[$langfield], -1, PREG_SPLIT_NO_EMPTY) as $part) {
                $code = self::language_code($part);
                if ($code === null) {
                    throw new \InvalidArgumentException("customfield {$langfield}: not a language code: '{$part}'");
                }
                if (!in_array($code, $languages, true)) {
                    $languages[] = $code;
                }
            }
        }
        $courselang = self::language_code($course['lang'] ?? null);
        if (!$languages) {
            $languages = [$courselang ?? 'en'];
        }
        $lang = in_array($courselang, $languages, true) ? $courselang : $languages[0];
        $template['languages'] = $languages;

        $title = self::language_map($course['fullname'] ?? '', $lang);
        if (!$title) {
            throw new \InvalidArgumentException('fullname: the course has no name');
        }
        $template['title'] = $title;
        $description = self::language_map($course['summary'] ?? '', $lang);
        if ($description) {
            $template['description'] = $description;
        }
        $name = $this->fields['ects'];
        if (isset($values[$name])) {
            $number = str_replace(',', '.', $values[$name]);
            if (!is_numeric($number) || (float) $number <= 0 || (float) $number > 240) {
                throw new \InvalidArgumentException("customfield {$name}: ECTS must be a number up to 240, "
                    . "got '{$values[$name]}'");
            }
            $template['ects'] = floor((float) $number) == (float) $number ? (int) $number : (float) $number;
        }
        $name = $this->fields['eqf_level'];
        if (isset($values[$name])) {
            if (!preg_match('/^(?:(?:eqf|level|niveau)\s*)?([1-8])$/i', $values[$name], $m)) {
                throw new \InvalidArgumentException("customfield {$name}: EQF level must be 1 to 8, got '{$values[$name]}'");
            }
            $template['eqf_level'] = (int) $m[1];
        }
        $name = $this->fields['isced_f'];
        if (isset($values[$name])) {
            $code = explode(' ', $values[$name])[0];
            if (preg_match('/^\d{3}$/', $code)) {
                $code = '0' . $code;
            }
            if (!preg_match('/^\d{4}$/', $code)) {
                throw new \InvalidArgumentException("customfield {$name}: ISCED-F must be a 4-digit field code, "
                    . "got '{$values[$name]}'");
            }
            $template['isced_f'] = $code;
        }
        [$template['learning_outcomes'], $warnings] = $this->learning_outcomes($competencies, $lang);
        if (!$template['learning_outcomes']) {
            $warnings[] = 'no ESCO-tagged competency: the credential will carry no learning outcome';
        }
        return ['template' => $template, 'warnings' => $warnings];
    }

    /**
     * One learning outcome per ESCO-tagged competency; others are reported and left out.
     *
     * @param array $competencies list of [id, shortname, idnumber, description]
     * @param string $lang language of unmarked text
     * @return array [outcomes, warnings]
     */
    public function learning_outcomes(array $competencies, string $lang): array {
        $outcomes = [];
        $warnings = [];
        $seen = [];
        foreach ($competencies as $competency) {
            $idnumber = trim((string) ($competency['idnumber'] ?? ''));
            $label = 'competency ' . ($competency['id'] ?? '?') . ' (' . ($competency['shortname'] ?? '') . ')';
            if (!preg_match(self::ESCO_SKILL_URI, $idnumber)) {
                $warnings[] = "{$label}: idnumber '{$idnumber}' is not an ESCO skill URI; ignored";
                continue;
            }
            if (isset($seen[$idnumber])) {
                continue;
            }
            $seen[$idnumber] = true;
            $text = self::language_map($competency['shortname'] ?? '', $lang)
                ?: self::language_map($competency['description'] ?? '', $lang);
            if (!$text) {
                $warnings[] = "{$label}: no short name or description; ignored";
                continue;
            }
            $outcomes[] = ['text' => $text, 'esco_skills' => [$idnumber]];
        }
        return [$outcomes, $warnings];
    }

    /**
     * The completion as POSTed to /api/v1/completions.
     *
     * @param int $courseid Moodle course id
     * @param array $user id, firstname, lastname, email, lang
     * @param array|null $grade score, max, text, pass (course total; null when ungraded)
     * @param int $timecompleted course_completions.timecompleted
     * @return array the completion
     * @throws \InvalidArgumentException naming the completion field when the learner's data is unusable
     */
    public function build_completion(int $courseid, array $user, ?array $grade, int $timecompleted): array {
        $email = trim((string) ($user['email'] ?? ''));
        if ($email === '' || strpos($email, '@') === false) {
            throw new \InvalidArgumentException('learner.email: Moodle has no email address for this learner');
        }
        $given = trim((string) ($user['firstname'] ?? ''));
        $family = trim((string) ($user['lastname'] ?? ''));
        if ($given === '' && $family === '') {
            throw new \InvalidArgumentException('learner.given_name: the learner has neither first nor last name');
        }
        $learner = ['id' => (string) $user['id'], 'given_name' => $given, 'family_name' => $family, 'email' => $email];
        $lang = self::language_code($user['lang'] ?? null);
        if ($lang !== null) {
            $learner['language'] = $lang;
        }
        $passed = true;
        $completion = [
            'source' => $this->source,
            'course_id' => (string) $courseid,
            'learner' => $learner,
        ];
        if ($grade !== null && isset($grade['score'])) {
            $out = ['score' => round((float) $grade['score'], 5)];
            if (isset($grade['max'])) {
                $out['max'] = (float) $grade['max'];
            }
            $text = trim((string) ($grade['text'] ?? ''));
            if ($text !== '' && $text !== '-') {
                $out['text'] = $text;
            }
            $completion['grade'] = $out;
            if (!empty($grade['pass']) && (float) $grade['score'] < (float) $grade['pass']) {
                $passed = false;
            }
        }
        $completion['passed'] = $passed;
        $completion['completed_at'] = gmdate('Y-m-d\TH:i:s\Z', $timecompleted);
        return $completion;
    }
}
