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
 * Signed JSON requests to the EDC Bridge sidecar through Moodle's \curl.
 *
 * Moodle's HTTP security settings (curlsecurityblockedhosts, curlsecurityallowedport) block
 * localhost, private networks and ports other than 80/443 by default, where sidecars usually
 * live. The plugin obeys them unless the administrator ticks "allowblockedhosts"; a blocked URL
 * is reported with the exact entries to change. Connection failures name their cause (refused,
 * DNS, TLS, timeout) instead of "HTTP 0".
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class sender {
    /** @var config plugin settings */
    private $config;

    /**
     * Constructor.
     *
     * @param config $config plugin settings
     */
    public function __construct(config $config) {
        $this->config = $config;
    }

    /**
     * Path of a course's template in the sidecar's API.
     *
     * @param int $courseid course id
     * @return string
     */
    public function template_path(int $courseid): string {
        return '/api/v1/sources/' . rawurlencode($this->config->source) . '/courses/' . $courseid . '/template';
    }

    /**
     * Why Moodle's HTTP security settings block a URL, with the entries to change; null when allowed.
     *
     * @param \curl $curl the client
     * @param string $url the URL
     * @return string|null
     */
    private function blocked(\curl $curl, string $url): ?string {
        if ($this->config->allowblocked || !$curl->get_security()->url_is_blocked($url)) {
            return null;
        }
        $parts = parse_url($url);
        $host = $parts['host'] ?? '';
        $port = $parts['port'] ?? (($parts['scheme'] ?? '') === 'https' ? 443 : 80);
        return get_string('error_blocked', 'local_edcbridge', ['host' => $host, 'port' => $port]);
    }

    /**
     * A short reason for a connection that got no HTTP answer.
     *
     * @param int $errno cURL error number
     * @param string $error cURL error text
     * @return string
     */
    public static function cause(int $errno, string $error): string {
        $reasons = [
            6 => 'error_dns', 7 => 'error_refused', 28 => 'error_timeout', 35 => 'error_tls', 51 => 'error_tls',
            53 => 'error_tls', 54 => 'error_tls', 58 => 'error_tls', 59 => 'error_tls', 60 => 'error_tls',
            66 => 'error_tls', 77 => 'error_tls', 80 => 'error_tls', 83 => 'error_tls', 90 => 'error_tls',
            91 => 'error_tls', 52 => 'error_empty', 56 => 'error_reset',
        ];
        $key = $reasons[$errno] ?? 'error_network';
        return get_string($key, 'local_edcbridge', trim($error) !== '' ? trim($error) : "cURL error {$errno}");
    }

    /**
     * Send one signed request and return the decoded answer.
     *
     * @param string $method HTTP method
     * @param string $path API path (without the sidecar's base path)
     * @param array $payload JSON body
     * @return array the sidecar's JSON answer
     * @throws sidecar_unavailable when nothing was stored and trying again later can succeed
     * @throws sidecar_rejected when the sidecar refused the content (RFC 9457 problem)
     */
    public function send(string $method, string $path, array $payload): array {
        global $CFG;
        require_once($CFG->libdir . '/filelib.php');
        $url = $this->config->sidecarurl . $path;
        $body = json_encode($payload, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
        $signedpath = (string) parse_url($this->config->sidecarurl, PHP_URL_PATH) . $path;
        $headers = ['Content-Type: application/json', 'Accept: application/json'];
        // Signed afresh on every attempt: current timestamp, fresh X-EDC-Nonce.
        foreach (signer::headers($this->config->source, $this->config->apikey, $method, $signedpath, $body, time()) as $k => $v) {
            $headers[] = "{$k}: {$v}";
        }
        $curl = new \curl(['ignoresecurity' => $this->config->allowblocked]);
        $blocked = $this->blocked($curl, $url);
        if ($blocked !== null) {
            throw new sidecar_unavailable($blocked);
        }
        $curl->setHeader($headers);
        $response = $curl->post($url, $body, ['CURLOPT_CUSTOMREQUEST' => $method, 'CURLOPT_TIMEOUT' => $this->config->timeout,
            'CURLOPT_CONNECTTIMEOUT' => min(10, $this->config->timeout)]);
        $info = $curl->get_info() ?: [];
        $status = (int) ($info['http_code'] ?? 0);
        if ($curl->get_errno() || $status === 0) {
            throw new sidecar_unavailable(get_string('error_unreachable', 'local_edcbridge',
                ['url' => $this->config->sidecarurl, 'cause' => self::cause((int) $curl->get_errno(), (string) $curl->error)]));
        }
        $type = strtolower(trim(explode(';', (string) ($info['content_type'] ?? ''))[0]));
        $answer = json_decode((string) $response, true);
        $problem = (in_array($type, ['application/problem+json', 'application/json'], true) && is_array($answer)
            && (isset($answer['title']) || isset($answer['errors']))) ? $answer : null;
        if ($status >= 500 || $status === 408 || $status === 429) {
            throw new sidecar_unavailable(get_string('error_status', 'local_edcbridge',
                ['status' => $status, 'detail' => self::detail($problem)]));
        }
        if ($status === 401 || $status === 403) {
            throw new sidecar_unavailable(get_string('error_auth', 'local_edcbridge',
                ['status' => $status, 'detail' => self::detail($problem)]));
        }
        if ($status >= 400) {
            if ($problem === null || !in_array($status, [400, 409, 412, 413, 422], true)) {
                throw new sidecar_unavailable(get_string('error_notsidecar', 'local_edcbridge',
                    ['status' => $status, 'url' => $url]));
            }
            throw new sidecar_rejected($status, $problem, self::detail($problem));
        }
        return is_array($answer) ? $answer : [];
    }

    /**
     * One line from a problem: the fields and messages it names, else its title.
     *
     * @param array|null $problem RFC 9457 problem
     * @return string
     */
    public static function detail(?array $problem): string {
        if (!$problem) {
            return '';
        }
        $errors = [];
        foreach (($problem['errors'] ?? []) as $error) {
            if (is_array($error)) {
                $errors[] = ($error['field'] ?? '?') . ': ' . ($error['message'] ?? '');
            }
        }
        if ($errors) {
            return implode('; ', $errors);
        }
        return (string) ($problem['detail'] ?? $problem['title'] ?? '');
    }
}
