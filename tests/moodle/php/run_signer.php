<?php
// Test driver: signs every vector of the shared file with the plugin's signer and prints the
// signatures as JSON, for tests/moodle/test_moodle_plugin.py to compare. A vector's "nonce" (if
// any) is signed and sent as X-EDC-Nonce; "fresh" and "fresh_again" are the headers the plugin
// sends by default (a new random nonce each time), for the test to check against the sidecar.
require __DIR__ . '/../../../moodle_adapter/moodle_plugin/edcbridge/classes/local/signer.php';

use local_edcbridge\local\signer;

$vectors = json_decode(file_get_contents($argv[1]), true)['vectors'];
$out = [];
foreach ($vectors as $v) {
    $nonce = $v['nonce'] ?? '';
    $out[] = [
        'hmac_key' => signer::hmac_key($v['api_key']),
        'signature' => signer::sign($v['api_key'], $v['method'], $v['path'], (int) $v['timestamp'], $v['body'],
            $nonce),
        'headers' => signer::headers('moodle-main', $v['api_key'], $v['method'], $v['path'], $v['body'],
            (int) $v['timestamp'], $nonce),
        'fresh' => signer::headers('moodle-main', $v['api_key'], $v['method'], $v['path'], $v['body'],
            (int) $v['timestamp']),
        'fresh_again' => signer::headers('moodle-main', $v['api_key'], $v['method'], $v['path'], $v['body'],
            (int) $v['timestamp']),
    ];
}
echo json_encode($out, JSON_UNESCAPED_SLASHES), "\n";
