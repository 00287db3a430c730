<?php
// Test driver: the plugin's classes that need only a few Moodle functions (stubbed here, each one
// doing what Moodle's does for these calls), run on the cases of a JSON file; prints the results.
$plugin = __DIR__ . '/../../../moodle_adapter/moodle_plugin/edcbridge/';
define('MOODLE_INTERNAL', 1);
define('DAYSECS', 86400);
$strings = [];
$string = [];
require $plugin . 'lang/en/local_edcbridge.php';
$strings = $string;

/** Moodle's get_string for this plugin's English strings: {$a} and {$a->name} replaced. */
function get_string($key, $component = 'moodle', $a = null) {
    global $strings;
    $text = $component === 'local_edcbridge' ? ($strings[$key] ?? "[[{$key}]]") : "[[{$key},{$component}]]";
    if (is_array($a) || is_object($a)) {
        foreach ((array) $a as $name => $value) {
            $text = str_replace('{$a->' . $name . '}', (string) $value, $text);
        }
    } else if ($a !== null) {
        $text = str_replace('{$a}', (string) $a, $text);
    }
    return $text;
}

foreach (['config', 'sender', 'sidecar_rejected', 'sidecar_unavailable', 'signer'] as $class) {
    require $plugin . "classes/local/{$class}.php";
}

use local_edcbridge\local\config;
use local_edcbridge\local\sender;
use local_edcbridge\local\sidecar_rejected;

$cases = json_decode(file_get_contents($argv[1]), true);
$out = [];
foreach ($cases as $name => $case) {
    switch ($case['kind']) {
        case 'defaults':
            [$defaults, $error] = config::parse_defaults($case['json']);
            $out[$name] = ['defaults' => $defaults, 'error' => $error];
            break;
        case 'cause':
            $out[$name] = sender::cause($case['errno'], $case['error']);
            break;
        case 'detail':
            $out[$name] = sender::detail($case['problem']);
            break;
        case 'missing_template':
            $out[$name] = (new sidecar_rejected(422, $case['problem'], 'x'))->missing_template();
            break;
    }
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
