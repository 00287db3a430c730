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
 * The plugin's settings, read once per task run, with what keeps it from sending named.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class config {
    /** @var string sidecar base URL, without trailing slash */
    public $sidecarurl = '';
    /** @var string source name registered in the sidecar */
    public $source = '';
    /** @var string the source's API key (decrypted) */
    public $apikey = '';
    /** @var string short name of the marker custom field ('' = every course) */
    public $markerfield = '';
    /** @var array template key => custom field short name */
    public $fields = [];
    /** @var array template defaults (awarding body, mode, assessment, policy...) */
    public $defaults = [];
    /** @var bool whether Moodle's HTTP security settings are bypassed for the sidecar */
    public $allowblocked = false;
    /** @var int seconds per HTTP request */
    public $timeout = 30;
    /** @var string[] what keeps the plugin from sending, for the report and the task log */
    public $problems = [];

    /**
     * Read the settings.
     *
     * @return config
     */
    public static function load(): config {
        $raw = get_config('local_edcbridge');
        $config = new config();
        $config->sidecarurl = rtrim(trim((string) ($raw->sidecarurl ?? '')), '/');
        $config->source = trim((string) ($raw->source ?? ''));
        $config->markerfield = trim((string) ($raw->markerfield ?? ''));
        $config->allowblocked = !empty($raw->allowblockedhosts);
        $config->timeout = max(5, (int) ($raw->timeout ?? 30));
        $config->fields = [
            'ects' => (string) ($raw->fieldects ?? ''),
            'eqf_level' => (string) ($raw->fieldeqf ?? ''),
            'isced_f' => (string) ($raw->fieldiscedf ?? ''),
            'language' => (string) ($raw->fieldlang ?? ''),
            'skills_required' => (string) ($raw->fieldskills ?? ''),
        ];
        if ($config->sidecarurl === '') {
            $config->problems[] = get_string('problem_nourl', 'local_edcbridge');
        }
        if ($config->source === '') {
            $config->problems[] = get_string('problem_nosource', 'local_edcbridge');
        }
        $stored = (string) ($raw->apikey ?? '');
        if ($stored === '') {
            $config->problems[] = get_string('problem_noapikey', 'local_edcbridge');
        } else {
            try {
                $config->apikey = \core\encryption::decrypt($stored);
            } catch (\moodle_exception $e) {
                $config->problems[] = get_string('problem_apikeydecrypt', 'local_edcbridge');
            }
        }
        [$defaults, $error] = self::parse_defaults((string) ($raw->templatedefaults ?? ''));
        $config->defaults = $defaults;
        if ($error !== null) {
            $config->problems[] = $error;
        }
        return $config;
    }

    /**
     * Decode the template defaults setting: a JSON object with at least the awarding body.
     *
     * @param string $json the setting's value
     * @return array [array defaults, string|null error]
     */
    public static function parse_defaults(string $json): array {
        if (trim($json) === '') {
            return [[], get_string('problem_nodefaults', 'local_edcbridge')];
        }
        $value = json_decode($json, true);
        if (!is_array($value) || array_is_list($value)) {
            return [[], get_string('problem_defaultsjson', 'local_edcbridge', json_last_error_msg())];
        }
        $body = $value['awarding_body'] ?? null;
        if (!is_array($body) || empty($body['legal_name'])) {
            return [$value, get_string('problem_defaultsbody', 'local_edcbridge')];
        }
        return [$value, null];
    }

    /**
     * Whether the plugin can send.
     *
     * @return bool
     */
    public function ready(): bool {
        return !$this->problems;
    }
}
