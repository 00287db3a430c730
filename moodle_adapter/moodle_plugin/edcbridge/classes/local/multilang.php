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
 * Moodle multi-language text to ELM language maps, the way Moodle's own filters read it.
 *
 * A text is rendered once per language its markup names (core multilang blocks of two or more
 * <span lang="xx" class="multilang"> and filter_multilang2's {mlang xx}...{mlang}, including
 * {mlang other}), as a reader of that language would see it, then reduced to plain text. Pure
 * PHP, no Moodle call: the same rules as the poller's moodle_adapter/multilang.py, checked by the
 * shared vectors (tests/moodle/vectors/rules.json) with php-cli. Change both together.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class multilang {
    /** Languages EDC Bridge's language maps accept (the EU language authority list). */
    const SUPPORTED = ['bg', 'cs', 'da', 'de', 'el', 'en', 'es', 'et', 'fi', 'fr', 'ga', 'hr', 'hu', 'it', 'lt',
        'lv', 'mt', 'nl', 'pl', 'pt', 'ro', 'sk', 'sl', 'sv', 'is', 'no', 'tr', 'mk', 'sr', 'ca', 'eu', 'gl', 'uk', 'sq'];

    /** filter_multilang2 blocks: {mlang xx,yy}text{mlang}. */
    const MLANG = '/\{\s*mlang\s+((?:[a-z0-9_-]+)(?:\s*,\s*[a-z0-9_-]+\s*)*)\s*\}(.*?)\{\s*mlang\s*\}/is';

    /** Core filter_multilang blocks: two or more adjacent spans with lang and class="multilang". */
    const SPAN_BLOCK = '/(<span(?:\s+lang="[a-zA-Z0-9_-]+"|\s+class="multilang"){2}\s*>.*?<\/span>)'
        . '(\s*<span(?:\s+lang="[a-zA-Z0-9_-]+"|\s+class="multilang"){2}\s*>.*?<\/span>)+/is';

    /** One span of a block. */
    const SPAN_ONE = '/<span[^>]+lang="([a-zA-Z0-9_-]+)"[^>]*>(.*?)<\/span>/is';

    /** Characters PHP's trim() removes; the poller strips exactly these too. */
    const TRIM = " \t\n\r\0\x0B";

    /**
     * Moodle's form of a language code: lower case, "_" as separator (fr-CA -> fr_ca).
     *
     * @param string $code a language code
     * @return string the normalised code
     */
    public static function normalise_code(string $code): string {
        return str_replace('-', '_', strtolower(trim($code, self::TRIM)));
    }

    /**
     * The ISO 639-1 code of a Moodle language (fr_ca -> fr), or null when EDC does not support it.
     *
     * @param string|null $lang Moodle language code
     * @return string|null
     */
    public static function language_code(?string $lang): ?string {
        if ($lang === null || $lang === '') {
            return null;
        }
        $primary = explode('_', self::normalise_code($lang))[0];
        return in_array($primary, self::SUPPORTED, true) ? $primary : null;
    }

    /**
     * Parent languages of a Moodle code, nearest first (de_ch_formal -> de_ch, de).
     *
     * @param string $code normalised code
     * @return string[]
     */
    private static function parents(string $code): array {
        $parts = explode('_', $code);
        $parents = [];
        for ($i = count($parts) - 1; $i > 0; $i--) {
            $parents[] = implode('_', array_slice($parts, 0, $i));
        }
        return $parents;
    }

    /**
     * HTML to one line of plain text: scripts, tags and control characters out, entities decoded,
     * spaces (no-break spaces included) folded to one.
     *
     * @param string $value HTML or text
     * @return string
     */
    public static function plain_text(string $value): string {
        $text = preg_replace('/<(script|style)\b[^>]*>.*?<\/\1\s*>/is', ' ', $value);
        $text = preg_replace('/<[^>]*>/', ' ', $text);
        $text = preg_replace_callback('/&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);/', function ($m) {
            $body = $m[1];
            if ($body[0] === '#') {
                $number = ($body[1] === 'x' || $body[1] === 'X') ? hexdec(substr($body, 2)) : (float) substr($body, 1);
                if ($number == 0 || $number > 0x10FFFF || ($number >= 0xD800 && $number <= 0xDFFF)) {
                    return "\u{FFFD}";
                }
                return mb_chr((int) $number, 'UTF-8');
            }
            $decoded = html_entity_decode($m[0], ENT_QUOTES | ENT_HTML5, 'UTF-8');
            return $decoded;
        }, $text);
        $text = preg_replace('/[\x00-\x08\x0E-\x1F\x7F]/', '', $text);
        $text = preg_replace('/[\x{20}\x{09}\x{0A}\x{0D}\x{0C}\x{0B}\x{A0}]+/u', ' ', $text);
        return trim($text, ' ');
    }

    /**
     * filter_multilang2 for a reader of $lang: matching blocks kept, the others emptied;
     * {mlang other} blocks when no block matched.
     *
     * @param string $text raw text
     * @param string $lang normalised reader language
     * @return string
     */
    private static function render_mlang(string $text, string $lang): string {
        $matched = false;
        $pick = function (array $target) use (&$matched) {
            return function (array $m) use ($target, &$matched): string {
                $codes = array_map([self::class, 'normalise_code'], explode(',', str_replace(' ', '', $m[1])));
                if (array_intersect($codes, $target)) {
                    $matched = true;
                    return $m[2];
                }
                return '';
            };
        };
        $result = preg_replace_callback(self::MLANG, $pick(array_merge([$lang], self::parents($lang))), $text);
        if ($matched) {
            return $result;
        }
        return preg_replace_callback(self::MLANG, $pick(['other']), $text);
    }

    /**
     * Core filter_multilang for a reader of $lang: the language, its parents, English, the first.
     *
     * @param string $text text
     * @param string $lang normalised reader language
     * @return string
     */
    private static function render_spans(string $text, string $lang): string {
        $chain = array_merge([$lang], self::parents($lang));
        if (!in_array('en', $chain, true)) {
            $chain[] = 'en';
        }
        return preg_replace_callback(self::SPAN_BLOCK, function (array $block) use ($chain): string {
            preg_match_all(self::SPAN_ONE, $block[0], $spans, PREG_SET_ORDER);
            $found = [];
            foreach ($spans as $span) {
                $found[self::normalise_code($span[1])] = $span[2];
            }
            if (!$found) {
                return $block[0];
            }
            foreach ($chain as $candidate) {
                if (array_key_exists($candidate, $found)) {
                    return $found[$candidate];
                }
            }
            return reset($found);
        }, $text);
    }

    /**
     * Moodle codes named by the markup (mlang blocks first), and whether {mlang other} is present.
     *
     * @param string $text raw text
     * @return array [string[] codes, bool hasother]
     */
    public static function tagged_languages(string $text): array {
        $codes = [];
        preg_match_all(self::MLANG, $text, $blocks, PREG_SET_ORDER);
        foreach ($blocks as $block) {
            foreach (explode(',', str_replace(' ', '', $block[1])) as $code) {
                $codes[] = self::normalise_code($code);
            }
        }
        preg_match_all(self::SPAN_BLOCK, $text, $spanblocks, PREG_SET_ORDER);
        foreach ($spanblocks as $block) {
            preg_match_all(self::SPAN_ONE, $block[0], $spans, PREG_SET_ORDER);
            foreach ($spans as $span) {
                $codes[] = self::normalise_code($span[1]);
            }
        }
        $seen = [];
        foreach ($codes as $code) {
            if ($code !== '' && $code !== 'other' && !in_array($code, $seen, true)) {
                $seen[] = $code;
            }
        }
        return [$seen, in_array('other', $codes, true)];
    }

    /**
     * The plain text a reader whose Moodle language is $lang sees.
     *
     * @param string $text raw text
     * @param string $lang Moodle language code
     * @return string
     */
    public static function render(string $text, string $lang): string {
        $lang = self::normalise_code($lang);
        return self::plain_text(self::render_spans(self::render_mlang($text, $lang), $lang));
    }

    /**
     * Split multilang markup into [iso code => plain text]; also return the languages left out.
     *
     * @param string|null $value raw text
     * @param string $defaultlang language of unmarked text (and of {mlang other})
     * @return array [array map, string[] dropped]
     */
    public static function language_map(?string $value, string $defaultlang): array {
        if ($value === null || $value === '') {
            return [[], []];
        }
        $default = self::normalise_code($defaultlang);
        [$tagged, $hasother] = self::tagged_languages($value);
        if (!$tagged && !$hasother) {
            $text = self::plain_text($value);
            $code = self::language_code($default);
            if ($text === '') {
                return [[], []];
            }
            return $code !== null ? [[$code => $text], []] : [[], [$default]];
        }
        $readers = $tagged;
        if ($hasother && !in_array($default, $readers, true)) {
            $readers[] = $default;
        }
        $found = [];
        $exact = [];
        $dropped = [];
        foreach ($readers as $reader) {
            $code = self::language_code($reader);
            if ($code === null) {
                $dropped[] = $reader;
                continue;
            }
            $text = self::render($value, $reader);
            if ($text === '') {
                continue;
            }
            if (!array_key_exists($code, $found) || ($reader === $code && !isset($exact[$code]))) {
                $found[$code] = $text;
            }
            if ($reader === $code) {
                $exact[$code] = true;
            }
        }
        return [$found, $dropped];
    }

    /**
     * At most $limit characters, cut at a word boundary and ending with an ellipsis when cut.
     *
     * @param string $text plain text
     * @param int $limit maximum length in characters
     * @return string
     */
    public static function truncate(string $text, int $limit): string {
        if (mb_strlen($text, 'UTF-8') <= $limit) {
            return $text;
        }
        $cut = mb_substr($text, 0, $limit - 1, 'UTF-8');
        $space = mb_strrpos($cut, ' ', 0, 'UTF-8');
        if ($space !== false && $space > intdiv($limit, 2)) {
            $cut = mb_substr($cut, 0, $space, 'UTF-8');
        }
        return rtrim($cut, ' ') . "\u{2026}";
    }
}
