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
 * The course template and the completion, built from plain inputs by the rules both routes share.
 *
 * The plugin reduces a course and a learner to the same plain arrays as the poller does from Web
 * Services answers (see moodle_adapter/template.py and completion.py), and applies the same rules,
 * so the sidecar receives one template per course whichever route sends it. Pure PHP: php-cli runs
 * the shared vectors (tests/moodle/vectors/rules.json) against it.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class rules {
    /** ESCO skill URIs as carried in competency idnumbers. */
    const ESCO_SKILL_URI = '~^http://data\.europa\.eu/esco/skill/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$~D';

    /** Default custom field short names. */
    const DEFAULT_FIELDS = ['ects' => 'edc_ects', 'eqf_level' => 'edc_eqf', 'isced_f' => 'edc_iscedf',
        'language' => 'edc_lang', 'skills_required' => 'edc_skills_required'];

    /** Values of a marker field that mean "not set". */
    const FALSE_WORDS = ['', '0', 'no', 'false', 'non', 'off'];

    /** Longest title, description and outcome text the sidecar accepts. */
    const TITLE_MAX = 500;
    /** Longest description. */
    const DESCRIPTION_MAX = 4000;
    /** Longest learning outcome text. */
    const OUTCOME_MAX = 1000;

    /** completion_criteria::COMPLETION_CRITERIA_TYPE_GRADE. */
    const CRITERIA_TYPE_GRADE = 6;

    /**
     * The value a rule reads from a custom field: a select's option label, else the stored value.
     *
     * @param array|null $item ['type', 'value', 'label']
     * @return string plain text
     */
    public static function field_text(?array $item): string {
        if (!$item) {
            return '';
        }
        $raw = ($item['type'] ?? '') === 'select' ? ($item['label'] ?? null) : ($item['value'] ?? null);
        if ($raw === null) {
            return '';
        }
        $text = (string) $raw;
        if (($item['type'] ?? '') === 'select') {
            $text = multilang::render($text, 'en');
        }
        return multilang::plain_text($text);
    }

    /**
     * Whether a checkbox is ticked (or a text field set to anything but 0/no/false).
     *
     * @param array $customfields short name => ['type', 'value', 'label']
     * @param string $name short name
     * @return bool
     */
    public static function is_ticked(array $customfields, string $name): bool {
        return !in_array(strtolower(self::field_text($customfields[$name] ?? null)), self::FALSE_WORDS, true);
    }

    /**
     * ECTS credits from a custom field value.
     *
     * @param string $value the value
     * @param string $name field short name
     * @return int|float
     * @throws course_data_exception
     */
    private static function ects(string $value, string $name) {
        $text = str_replace(',', '.', $value);
        if (!preg_match('/^[0-9]{1,3}(?:\.[0-9]{1,2})?$/D', $text)) {
            throw new course_data_exception("customfield {$name}",
                "ECTS must be a number with at most 2 decimals, got '{$value}'");
        }
        $number = (float) $text;
        if ($number <= 0 || $number > 240) {
            throw new course_data_exception("customfield {$name}",
                "ECTS credits must be more than 0 and at most 240, got '{$value}'");
        }
        return floor($number) == $number ? (int) $number : $number;
    }

    /**
     * EQF level from a custom field value.
     *
     * @param string $value the value
     * @param string $name field short name
     * @return int
     * @throws course_data_exception
     */
    private static function eqf(string $value, string $name): int {
        if (!preg_match('/^(?:(?:eqf|level|niveau|cec)\s*)?([1-8])$/iD', $value, $m)) {
            throw new course_data_exception("customfield {$name}", "EQF level must be 1 to 8, got '{$value}'");
        }
        return (int) $m[1];
    }

    /**
     * ISCED-F field code from a custom field value.
     *
     * @param string $value the value
     * @param string $name field short name
     * @return string
     * @throws course_data_exception
     */
    private static function isced(string $value, string $name): string {
        $code = explode(' ', $value)[0];
        if (preg_match('/^[0-9]{3}$/D', $code)) {
            $code = '0' . $code;
        }
        if (!preg_match('/^[0-9]{4}$/D', $code)) {
            throw new course_data_exception("customfield {$name}", "ISCED-F must be a 4-digit field code, got '{$value}'");
        }
        return $code;
    }

    /**
     * Languages from a custom field value.
     *
     * @param string $value the value
     * @param string $name field short name
     * @return string[]
     * @throws course_data_exception
     */
    private static function languages(string $value, string $name): array {
        $codes = [];
        foreach (preg_split('/[,; \t\r\n]+/', $value) as $part) {
            if ($part === '') {
                continue;
            }
            $code = multilang::language_code($part);
            if ($code === null) {
                throw new course_data_exception("customfield {$name}", "'{$part}' is not a language EDC supports");
            }
            if (!in_array($code, $codes, true)) {
                $codes[] = $code;
            }
        }
        return $codes;
    }

    /**
     * A language map from raw text, warnings for the languages left out, texts cut to $limit.
     *
     * @param mixed $value raw text
     * @param string $lang language of unmarked text
     * @param string $where what the text is, for warnings
     * @param int $limit longest text
     * @param array $warnings collected warnings
     * @return array language map
     */
    private static function text($value, string $lang, string $where, int $limit, array &$warnings): array {
        [$found, $dropped] = multilang::language_map($value === null ? '' : (string) $value, $lang);
        foreach ($dropped as $code) {
            $warnings[] = "{$where}: text in '{$code}' left out (not a language EDC supports)";
        }
        $out = [];
        foreach ($found as $code => $text) {
            $out[$code] = multilang::truncate($text, $limit);
        }
        return $out;
    }

    /**
     * One learning outcome per ESCO-tagged competency, in the course's competency order.
     *
     * @param array $competencies list of ['id', 'shortname', 'idnumber', 'description']
     * @param string $lang language of unmarked text
     * @param array $warnings collected warnings
     * @return array outcomes
     */
    public static function learning_outcomes(array $competencies, string $lang, array &$warnings): array {
        $outcomes = [];
        $seen = [];
        foreach ($competencies as $comp) {
            $idnumber = trim((string) ($comp['idnumber'] ?? ''), multilang::TRIM);
            $label = 'competency ' . ($comp['id'] ?? 'None');
            if (!preg_match(self::ESCO_SKILL_URI, $idnumber)) {
                $warnings[] = "{$label}: idnumber '{$idnumber}' is not an ESCO skill URI; not on the credential";
                continue;
            }
            if (isset($seen[$idnumber])) {
                continue;
            }
            $seen[$idnumber] = true;
            $text = self::text($comp['shortname'] ?? null, $lang, $label, self::OUTCOME_MAX, $warnings);
            if (!$text) {
                $text = self::text($comp['description'] ?? null, $lang, $label, self::OUTCOME_MAX, $warnings);
            }
            if (!$text) {
                $warnings[] = "{$label}: no short name or description in a language EDC supports; not on the credential";
                continue;
            }
            $outcomes[] = ['text' => $text, 'esco_skills' => [$idnumber]];
        }
        return $outcomes;
    }

    /**
     * The course template: configured defaults, then course metadata, then ESCO-tagged outcomes.
     *
     * @param array $course ['id', 'fullname', 'summary', 'lang'] with raw text
     * @param array $customfields short name => ['type', 'value', 'label']
     * @param array $competencies list of ['id', 'shortname', 'idnumber', 'description']
     * @param array $fields template key => custom field short name (empty values: the defaults)
     * @param array $defaults template defaults (awarding body, mode, assessment...)
     * @param array|null $policy issuing policy sent with the template
     * @return array ['template' => array, 'warnings' => string[]]
     * @throws course_data_exception naming the Moodle field at fault
     */
    public static function build_template(array $course, array $customfields, array $competencies, array $fields,
            array $defaults, ?array $policy = null): array {
        $names = array_merge(self::DEFAULT_FIELDS, array_filter($fields));
        $template = $defaults;
        $warnings = [];
        $values = [];
        foreach ($customfields as $name => $item) {
            $text = self::field_text($item);
            if ($text !== '') {
                $values[$name] = $text;
            }
        }
        if (isset($values[$names['language']])) {
            $languages = self::languages($values[$names['language']], $names['language']);
        } else {
            $languages = [];
            foreach ((array) ($template['languages'] ?? []) as $x) {
                $code = multilang::language_code((string) $x);
                if ($code !== null) {
                    $languages[] = $code;
                }
            }
        }
        $courselang = multilang::language_code($course['lang'] ?? null);
        if (!$languages) {
            $languages = [$courselang ?? 'en'];
        }
        $lang = in_array($courselang, $languages, true) ? $courselang : $languages[0];
        $template['languages'] = $languages;

        $title = self::text($course['fullname'] ?? null, $lang, 'fullname', self::TITLE_MAX, $warnings);
        if (!$title) {
            throw new course_data_exception('fullname', 'the course name has no text in a language EDC supports');
        }
        $template['title'] = $title;
        $description = self::text($course['summary'] ?? null, $lang, 'summary', self::DESCRIPTION_MAX, $warnings);
        if ($description) {
            $template['description'] = $description;
        }
        if (isset($values[$names['ects']])) {
            $template['ects'] = self::ects($values[$names['ects']], $names['ects']);
        }
        if (isset($values[$names['eqf_level']])) {
            $template['eqf_level'] = self::eqf($values[$names['eqf_level']], $names['eqf_level']);
        }
        if (isset($values[$names['isced_f']])) {
            $template['isced_f'] = self::isced($values[$names['isced_f']], $names['isced_f']);
        }
        $outcomes = self::learning_outcomes($competencies, $lang, $warnings);
        if (!$outcomes) {
            if (self::is_ticked($customfields, $names['skills_required'])) {
                throw new course_data_exception("customfield {$names['skills_required']}",
                    'this course issues credentials only with ESCO-tagged learning outcomes and has none: '
                    . 'add ESCO competencies to the course');
            }
            $warnings[] = 'no ESCO-tagged competency: credentials of this course carry no learning outcome';
        }
        $template['learning_outcomes'] = $outcomes;
        if ($policy) {
            $template['policy'] = $policy;
        }
        return ['template' => $template, 'warnings' => $warnings];
    }

    /**
     * Every course-grade criterion met, and the visible course total not below its grade to pass.
     *
     * @param array $criteria list of ['type', 'complete']
     * @param array|null $grade ['score', 'max', 'min', 'passing'] or null
     * @return bool
     */
    public static function is_passed(array $criteria, ?array $grade): bool {
        foreach ($criteria as $criterion) {
            if ((int) ($criterion['type'] ?? 0) === self::CRITERIA_TYPE_GRADE && empty($criterion['complete'])) {
                return false;
            }
        }
        return !($grade !== null && array_key_exists('passing', $grade) && $grade['passing'] === false);
    }

    /**
     * The grade as numbers, only when Moodle shows the learner a score within the item's range.
     *
     * @param array|null $grade ['score', 'max', 'min', 'passing'] or null
     * @return array|null ['score', 'max']
     */
    public static function grade_payload(?array $grade): ?array {
        if (!$grade || !isset($grade['score']) || !isset($grade['max'])) {
            return null;
        }
        $score = (float) $grade['score'];
        $max = (float) $grade['max'];
        if ($max <= 0 || $score < 0 || $score > $max) {
            return null;
        }
        return ['score' => $score, 'max' => $max];
    }

    /**
     * The completion as POSTed to /api/v1/completions.
     *
     * @param string $source source name
     * @param int|string $courseid Moodle course id
     * @param array $user ['id', 'firstname', 'lastname', 'email', 'lang'?]
     * @param int $timecompleted course_completions.timecompleted
     * @param array $criteria list of ['type', 'complete']
     * @param array|null $grade the course total as the learner may see it
     * @return array the completion
     * @throws learner_data_exception naming the completion field
     */
    public static function build_completion(string $source, $courseid, array $user, int $timecompleted, array $criteria,
            ?array $grade): array {
        $email = trim((string) ($user['email'] ?? ''), multilang::TRIM);
        if ($email === '' || strpos($email, '@') === false) {
            throw new learner_data_exception('learner.email', 'Moodle has no email address for this learner');
        }
        $given = trim((string) ($user['firstname'] ?? ''), multilang::TRIM);
        $family = trim((string) ($user['lastname'] ?? ''), multilang::TRIM);
        if ($given === '') {
            throw new learner_data_exception('learner.given_name', 'Moodle has no first name for this learner');
        }
        if ($family === '') {
            throw new learner_data_exception('learner.family_name', 'Moodle has no last name for this learner');
        }
        $learner = ['id' => (string) $user['id'], 'given_name' => $given, 'family_name' => $family, 'email' => $email];
        $lang = multilang::language_code($user['lang'] ?? null);
        if ($lang !== null) {
            $learner['language'] = $lang;
        }
        $completion = [
            'source' => $source,
            'course_id' => (string) $courseid,
            'learner' => $learner,
            'passed' => self::is_passed($criteria, $grade),
            'completed_at' => gmdate('Y-m-d\TH:i:s\Z', $timecompleted),
        ];
        $numbers = self::grade_payload($grade);
        if ($numbers !== null) {
            $completion['grade'] = $numbers;
        }
        return $completion;
    }

    /**
     * Canonical JSON of a template, hashed: an unchanged template is not sent again.
     *
     * @param array $template the template
     * @return string hex SHA-256
     */
    public static function digest(array $template): string {
        return hash('sha256', json_encode(self::sorted($template), JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES));
    }

    /**
     * Keys sorted recursively (lists keep their order), as the poller's digest does.
     *
     * @param mixed $value any JSON value
     * @return mixed
     */
    private static function sorted($value) {
        if (!is_array($value)) {
            return $value;
        }
        if (array_is_list($value)) {
            return array_map([self::class, 'sorted'], $value);
        }
        ksort($value, SORT_STRING);
        return array_map([self::class, 'sorted'], $value);
    }
}
