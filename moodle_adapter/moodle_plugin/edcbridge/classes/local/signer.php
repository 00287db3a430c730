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
 * HMAC request signing, v1 scheme of EDC Bridge (docs/architecture.md).
 *
 * Pure PHP (no Moodle calls) so the shared test vector can check it with php-cli against the
 * Python signer and the sidecar's verifier. The HMAC key is the hex SHA-256 of the API key:
 * the sidecar stores only that hash. Each request carries a fresh X-EDC-Nonce, signed too.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class signer {
    /**
     * The signing key derived from the API key.
     *
     * @param string $apikey the source's API key
     * @return string hex SHA-256 of the key, used as the HMAC key bytes
     */
    public static function hmac_key(string $apikey): string {
        return hash('sha256', $apikey);
    }

    /**
     * A fresh X-EDC-Nonce: 128 random bits, base64url without padding (22 characters).
     *
     * @return string the nonce
     */
    public static function new_nonce(): string {
        return rtrim(strtr(base64_encode(random_bytes(16)), '+/', '-_'), '=');
    }

    /**
     * The X-EDC-Signature value for one request.
     *
     * @param string $apikey the source's API key
     * @param string $method HTTP method
     * @param string $path path with query string, exactly as sent
     * @param int $timestamp unix seconds, also sent in X-EDC-Timestamp
     * @param string $body the exact body bytes
     * @param string $nonce the X-EDC-Nonce sent with the request, signed as a fifth line; '' for none
     * @return string "v1=" followed by the hex HMAC-SHA256
     */
    public static function sign(string $apikey, string $method, string $path, int $timestamp, string $body,
            string $nonce = ''): string {
        $message = strtoupper($method) . "\n" . $path . "\n" . $timestamp . "\n" . hash('sha256', $body);
        if ($nonce !== '') {
            $message .= "\n" . $nonce;
        }
        return 'v1=' . hash_hmac('sha256', $message, self::hmac_key($apikey));
    }

    /**
     * The headers of a signed request, with a fresh nonce unless one is given.
     *
     * The nonce makes every signature unique, so identical requests in the same second (a task
     * retried after a timeout) are not refused by the sidecar as replays.
     *
     * @param string $source the source name
     * @param string $apikey the source's API key
     * @param string $method HTTP method
     * @param string $path path with query string, exactly as sent
     * @param string $body the exact body bytes
     * @param int $timestamp unix seconds
     * @param string|null $nonce null for a fresh random nonce, '' to sign without one
     * @return array header name => value
     */
    public static function headers(string $source, string $apikey, string $method, string $path,
            string $body, int $timestamp, ?string $nonce = null): array {
        $nonce = $nonce ?? self::new_nonce();
        $headers = [
            'X-EDC-Source' => $source,
            'X-EDC-Timestamp' => (string) $timestamp,
            'X-EDC-Signature' => self::sign($apikey, $method, $path, $timestamp, $body, $nonce),
        ];
        if ($nonce !== '') {
            $headers['X-EDC-Nonce'] = $nonce;
        }
        return $headers;
    }
}
