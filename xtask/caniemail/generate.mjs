// Turns the caniemail data into crates/lint/src/caniemail.rs, keeping only the Gmail rows.
// Run by `cargo xtask caniemail` as `node generate.mjs <node_modules> <output.rs>`; the xtask
// then runs rustfmt on the output.
//
// Each feature gets matchers that say what in an HTML part uses it (an element, an attribute,
// a CSS property and value, an at-rule, a selector...). They are derived from the feature's
// title the way the package's own checker does it, with the exceptions below spelled out. A
// feature that Gmail does not fully support and that gets no matcher stops the generator, so
// a new caniemail release cannot silently add rows the lint never checks.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [modules, output] = process.argv.slice(2);
if (!modules || !output) {
  console.error('usage: node generate.mjs <node_modules> <output.rs>');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(join(modules, 'caniemail/package.json'), 'utf8'));
const data = JSON.parse(readFileSync(join(modules, 'caniemail/data/caniemail.json'), 'utf8'));

const PLATFORMS = [
  ['desktop-webmail', 'desktop_webmail', 'desktop webmail'],
  ['ios', 'ios', 'iOS'],
  ['android', 'android', 'Android'],
  ['mobile-webmail', 'mobile_webmail', 'mobile webmail'],
];

// Rows nothing in a message can reveal.
const UNDETECTABLE = new Set(['bimi', 'image-hdr']);

// Matchers written out where the title does not say what to look for, or where a note narrows
// the problem to one use (negative margins, `rgb()` without commas, `<ol reversed>`), so that
// ordinary mail is not flagged for what Gmail handles.
const m = {
  element: (name) => `Matcher::Element("${name}")`,
  attr: (name, element = null, value = 'Value::Any') =>
    `Matcher::Attribute(${element ? `Some("${element}")` : 'None'}, "${name}", ${value})`,
  property: (name, value = 'Value::Any') => `Matcher::Property("${name}", ${value})`,
  keyword: (name) => `Matcher::Keyword("${name}")`,
  func: (name, withoutCommas = false) =>
    `Matcher::${withoutCommas ? 'FunctionWithoutCommas' : 'Function'}("${name}")`,
  unit: (name) => `Matcher::Unit("${name}")`,
  atRule: (name) => `Matcher::AtRule("${name}")`,
  media: (name) => `Matcher::MediaFeature("${name}")`,
  pseudoClass: (name) => `Matcher::PseudoClass("${name}")`,
  pseudoElement: (name) => `Matcher::PseudoElement("${name}")`,
  selector: (kind) => `Matcher::Selector(Selector::${kind})`,
  image: (ext) => `Matcher::ImageFormat("${ext}")`,
};
const OVERRIDES = {
  amp: [m.attr('⚡4email', 'html'), m.attr('amp4email', 'html')],
  'html-address': [m.element('address')],
  'html-anchor-links': [m.attr('href', 'a', 'Value::StartsWith("#")')],
  // "Replaced by a `<div>` with supported attributes": a bare <body> loses nothing.
  'html-body': ['Matcher::ElementWithAttributes("body")'],
  'html-comments': ['Matcher::HtmlComment'],
  'html-doctype': [],
  'html-h1-h6': ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map(m.element),
  'html-image-maps': [m.element('map')],
  // "The `reversed` attribute on `<ol>` is not supported."
  'html-lists': [m.attr('reversed', 'ol')],
  'html-mailto-links': [m.attr('href', 'a', 'Value::StartsWith("mailto:")')],
  'html-meta-color-scheme': [m.attr('name', 'meta', 'Value::Is("color-scheme")')],
  // "`<details>`, `<main>`, `<nav>` and `<summary>` are not supported"; the other HTML5
  // elements (`<article>`, `<header>`, `<section>`...) are.
  'html-semantics': ['details', 'main', 'nav', 'summary'].map(m.element),
  'html-srcset': [m.attr('srcset'), m.attr('sizes')],
  'html-svg': [m.element('svg')],
  // "`target="_blank"` is forced on all links": only another target changes anything.
  'html-target': [m.attr('target', null, 'Value::IsNot("_blank")')],
  // "Does not support height based media queries"; the others work with Google accounts.
  'css-at-media': [m.media('height'), m.media('device-height')],
  'css-at-media-hover': [m.media('hover'), m.media('any-hover')],
  'css-comments': ['Matcher::CssComment'],
  // "Only supported in lowercase."
  'css-important': ['Matcher::ImportantNotLowercase'],
  'css-inert-attribute': [m.attr('inert')],
  'css-intrinsic-size': ['fit-content', 'max-content', 'min-content'].map(m.keyword),
  // "Logical property values `inline-start` and `inline-end` are not supported."
  'css-clear': ['inline-start', 'inline-end'].map((v) => m.property('clear', `Value::Is("${v}")`)),
  'css-float': ['inline-start', 'inline-end'].map((v) => m.property('float', `Value::Is("${v}")`)),
  'css-left-right-top-bottom': ['left', 'right', 'top', 'bottom'].map((p) => m.property(p)),
  // "`list-style-image` values are not supported. The entire `list-style` property is removed."
  'css-list-style': [m.property('list-style', 'Value::Url')],
  // "Negative values are not supported."
  'css-margin': [m.property('margin', 'Value::Negative')],
  'css-text-indent': [m.property('text-indent', 'Value::Negative')],
  'css-modern-color': ['lch', 'oklch', 'lab', 'oklab'].map((f) => m.func(f)),
  'css-nesting': [m.selector('Nesting')],
  'css-pseudo-class-lang': [m.pseudoClass('lang')],
  // "Whitespace syntax is not supported (`rgb(0 128 0 / 1)`)."
  'css-rgb': [m.func('rgb', true)],
  'css-rgba': [m.func('rgba', true)],
  'css-selector-adjacent-sibling': [m.selector('Adjacent')],
  'css-selector-attribute': [m.selector('Attribute')],
  'css-selector-chaining': [m.selector('Chaining')],
  'css-selector-child': [m.selector('Child')],
  'css-selector-class': [m.selector('Class')],
  'css-selector-descendant': [m.selector('Descendant')],
  'css-selector-general-sibling': [m.selector('GeneralSibling')],
  'css-selector-grouping': [m.selector('Grouping')],
  'css-selector-id': [m.selector('Id')],
  'css-selector-type': [m.selector('Type')],
  'css-selector-universal': [m.selector('Universal')],
  // Android "Supports `system-ui` only".
  'css-sytem-ui': ['ui-monospace', 'ui-rounded', 'ui-sans-serif', 'ui-serif'].map(m.keyword),
  // "Doesn't support the `match-parent` value."
  'css-text-align': [m.property('text-align', 'Value::Is("match-parent")')],
  // "Supports `under` but not `right` and `left`."
  'css-text-underline-position': ['right', 'left'].map((v) =>
    m.property('text-underline-position', `Value::Is("${v}")`),
  ),
  'css-unit-calc': [m.func('calc')],
  'css-unit-initial': [m.keyword('initial')],
  'css-unit-percent': [m.unit('%')],
  // "The `var()` function is supported, but not the variable declaration."
  'css-variables': ['Matcher::CustomProperty'],
  // "`pre` value is not supported."
  'css-white-space': [m.property('white-space', 'Value::Is("pre")')],
  'image-apng': [m.image('apng')],
  'image-avif': [m.image('avif')],
  'image-base64': ['Matcher::ImageDataUri'],
  'image-bmp': [m.image('bmp')],
  'image-gif': [m.image('gif')],
  'image-heif': [m.image('heif'), m.image('heic')],
  'image-ico': [m.image('ico')],
  'image-jpg': [m.image('jpg'), m.image('jpeg')],
  'image-mp4': [m.image('mp4')],
  'image-png': [m.image('png')],
  'image-svg': [m.image('svg')],
  'image-tiff': [m.image('tif'), m.image('tiff')],
  'image-webp': [m.image('webp')],
};
// Titles that name several properties (from the package's own checker).
const PROPERTY_GROUPS = {
  'block-size & inline-size': ['block-size', 'inline-size'],
  'border-inline & border-block': ['border-inline', 'border-block'],
  'border-inline & border-block individual logical properties': [
    'border-block-end', 'border-block-start', 'border-inline-end', 'border-inline-start',
  ],
  'border-inline & border-block longhand properties': [
    'border-block-color', 'border-block-style', 'border-block-width', 'border-inline-color',
    'border-inline-style', 'border-inline-width',
  ],
  'border-radius logical properties': [
    'border-end-end-radius', 'border-end-start-radius', 'border-start-end-radius',
    'border-start-start-radius',
  ],
  'css column properties': [
    'column-count', 'column-fill', 'column-gap', 'column-rule', 'column-rule-color',
    'column-rule-style', 'column-rule-width', 'column-span', 'column-width', 'columns',
  ],
  'gap, column-gap, row-gap': ['column-gap', 'gap', 'row-gap'],
  'grid-template-* properties': [
    'grid-template', 'grid-template-areas', 'grid-template-columns', 'grid-template-rows',
  ],
  'margin-block-start & margin-block-end': ['margin-block-end', 'margin-block-start'],
  'margin-inline & margin-block': ['margin-block', 'margin-inline'],
  'margin-inline-start & margin-inline-end': ['margin-inline-end', 'margin-inline-start'],
  'padding-block-start & padding-block-end': ['padding-block-end', 'padding-block-start'],
  'padding-inline & padding-block': ['padding-block', 'padding-inline'],
  'padding-inline-start & padding-inline-end': ['padding-inline-end', 'padding-inline-start'],
};

function matchers(feature) {
  const { slug, title, category } = feature;
  if (slug in OVERRIDES) return OVERRIDES[slug];
  const t = title.trim();
  let match;
  if (category === 'html') {
    if ((match = /^<(\w+)> element$/.exec(t)) || (match = /^<(\w+)>$/.exec(t))) {
      return [m.element(match[1])];
    }
    if ((match = /^<(\w+) (\w+)="(\w+)"> element$/.exec(t))) {
      return [m.attr(match[2], match[1], `Value::Is("${match[3]}")`)];
    }
    if ((match = /^([\w-]+) attribute$/.exec(t))) return [m.attr(match[1])];
    return null;
  }
  if (category !== 'css') return null;
  if ((match = /^@media \((.+)\)$/.exec(t))) return [m.media(match[1])];
  if ((match = /^@([\w-]+)$/.exec(t))) return [m.atRule(match[1])];
  if ((match = /^::([\w-]+)$/.exec(t))) return [m.pseudoElement(match[1])];
  if ((match = /^:([\w-]+)(\(\))?$/.exec(t))) return [m.pseudoClass(match[1])];
  if (t.includes('()')) return [...t.matchAll(/([a-z-]+)\(\)/g)].map((f) => m.func(f[1]));
  if ((match = /^(\S+) unit$/.exec(t))) return [m.unit(match[1])];
  if ((match = /^([a-z-]+):\s*([a-z-]+)$/.exec(t))) {
    return [m.property(match[1], `Value::Is("${match[2]}")`)];
  }
  if (t in PROPERTY_GROUPS) return PROPERTY_GROUPS[t].map((p) => m.property(p));
  const name = t.replace(/ (shorthand|property|CSS property)$/, '');
  if (/^[a-z-]+$/.test(name)) return [m.property(name)];
  return null;
}

// Gmail's apps also show other providers' accounts (IMAP, Outlook.com); many limits apply
// only there, and some features work only there.
const OTHER_ACCOUNTS = /non[- ]?(google|gmail) account/i;
const OTHER_ACCOUNTS_ONLY =
  /only (supported|works?) with non[- ]?google accounts?|supported with non[- ]?google accounts? only/i;

function latest(stats) {
  const keys = Object.keys(stats).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return stats[keys[keys.length - 1]];
}

function noteNumbers(entry) {
  return [...entry.matchAll(/#(\d+)/g)].map((n) => n[1]);
}

function support(feature, entry) {
  if (entry === undefined) return 'Unknown';
  const notes = noteNumbers(entry).map((n) => feature.notes_by_num?.[n] ?? '');
  switch (entry[0]) {
    case 'y':
      return 'Yes';
    case 'n':
      return 'No';
    case 'u':
      return 'Unknown';
    case 'a':
      if (notes.length > 0 && notes.some((n) => OTHER_ACCOUNTS_ONLY.test(n))) return 'No';
      if (notes.length > 0 && notes.every((n) => OTHER_ACCOUNTS.test(n))) {
        return 'GoogleAccountsOnly';
      }
      return 'Partial';
    default:
      throw new Error(`${feature.slug}: unknown support value "${entry}"`);
  }
}

// Markdown links become "text (address)"; the lint's findings are plain text.
function plain(note) {
  return note
    .replace(/\[([^\]]*)\]\(([^)]*)\)/g, (_, text, href) =>
      `${text} (${href.startsWith('/') ? `https://www.caniemail.com${href}` : href})`,
    )
    .replace(/\s+/g, ' ')
    .trim();
}

// "desktop webmail, iOS: <note>; Android: <note>", one clause per distinct note.
function gmailNotes(feature) {
  const byNote = new Map();
  for (const [key, , label] of PLATFORMS) {
    const stats = feature.stats.gmail?.[key];
    if (!stats) continue;
    for (const n of noteNumbers(latest(stats))) {
      const note = feature.notes_by_num?.[n];
      if (!note) continue;
      const text = plain(note);
      if (!byNote.has(text)) byNote.set(text, []);
      byNote.get(text).push(label);
    }
  }
  return [...byNote]
    .map(([note, labels]) => {
      const where = labels.join(', ');
      const end = /[.!)]$/.test(note) ? '' : '.';
      const capital = where.startsWith('iOS') ? where : where[0].toUpperCase() + where.slice(1);
      return `${capital}: ${note}${end}`;
    })
    .join(' ');
}

// A Rust string literal: JSON's `\uXXXX`, `\b` and `\f` are not Rust escapes.
const rust = (s) =>
  `"${[...s]
    .map((c) => {
      if (c === '"' || c === '\\') return `\\${c}`;
      if (c === '\n') return '\\n';
      const code = c.codePointAt(0);
      return code < 0x20 || code === 0x7f ? `\\u{${code.toString(16)}}` : c;
    })
    .join('')}"`;

const features = [];
const supportedProperties = [];
const nonFullProperties = [];
const fullProperties = [];
for (const feature of data.data) {
  const gmail = feature.stats.gmail;
  if (!gmail) continue;
  const row = Object.fromEntries(
    PLATFORMS.map(([key, field]) => [field, support(feature, gmail[key] && latest(gmail[key]))]),
  );
  const full = Object.values(row).every((s) => s === 'Yes');
  const found = matchers(feature);
  const properties = (found ?? [])
    .map((x) => /^Matcher::Property\("([^"]+)"/.exec(x)?.[1])
    .filter(Boolean);
  if (full) {
    fullProperties.push(...properties);
    continue;
  }
  if (found === null || found.length === 0) {
    if (UNDETECTABLE.has(feature.slug)) continue;
    throw new Error(
      `${feature.slug} ("${feature.title}"): Gmail does not fully support it and no matcher ` +
        'says what uses it; add one to OVERRIDES in xtask/caniemail/generate.mjs',
    );
  }
  nonFullProperties.push(...properties);
  features.push({ feature, row, found });
}
// A fully supported property that would otherwise be taken for the longhand of a feature
// (`text-align-last` for `text-align`) is listed, so the lint's longest match stops at it.
for (const name of new Set(fullProperties)) {
  const shadowed = nonFullProperties.some((p) => name.startsWith(`${p}-`));
  if (shadowed && !nonFullProperties.includes(name)) supportedProperties.push(name);
}
supportedProperties.sort();

const category = { html: 'Html', css: 'Css', image: 'Image', others: 'Others' };
const date = data.last_update_date.slice(0, 10);
let out = `//! The Gmail rows of the caniemail data: npm package \`caniemail\` ${pkg.version} (MIT,
//! <https://www.caniemail.com>), data of ${date}. Generated by \`cargo xtask caniemail\`
//! (xtask/caniemail/generate.mjs); do not edit by hand.
//!
//! [\`FEATURES\`] holds the ${features.length} features that Gmail does not fully support on all four of its
//! platforms (desktop webmail, the iOS and Android apps, mobile webmail), each at its latest
//! caniemail test, with what in a message uses it. Fully supported features are left out.

use Support::{${[...new Set(features.flatMap(({ row }) => Object.values(row)))].sort().join(', ')}};

/// How one Gmail platform handles a feature, at its latest caniemail test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Support {
    Yes,
    /// Works for Google accounts; the app drops it when it shows another provider's account.
    GoogleAccountsOnly,
    Partial,
    No,
    Unknown,
}

/// Gmail's four platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gmail {
    pub desktop_webmail: Support,
    pub ios: Support,
    pub android: Support,
    pub mobile_webmail: Support,
}

impl Gmail {
    const fn new(desktop_webmail: Support, ios: Support, android: Support, mobile_webmail: Support) -> Gmail {
        Gmail { desktop_webmail, ios, android, mobile_webmail }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Html,
    Css,
    Image,
    Others,
}

/// A condition on an attribute's or a declaration's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Any,
    /// The attribute equals it, or the declaration has it as a keyword (ASCII case-insensitive).
    Is(&'static str),
    /// The attribute is present with another value.
    IsNot(&'static str),
    StartsWith(&'static str),
    /// The declaration has a negative number.
    Negative,
    /// The declaration has a \`url()\`.
    Url,
}

/// Kinds of CSS selector, as caniemail tests them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Selector {
    /// \`a + b\`
    Adjacent,
    /// \`[attr]\`
    Attribute,
    /// Two classes on one compound, \`.a.b\`.
    Chaining,
    /// \`a > b\`
    Child,
    /// \`.a\`
    Class,
    /// \`a b\`
    Descendant,
    /// \`a ~ b\`
    GeneralSibling,
    /// \`a, b\`
    Grouping,
    /// \`#a\`
    Id,
    /// \`a\`
    Type,
    /// \`*\`
    Universal,
    /// \`&\`
    Nesting,
}

/// What in an HTML part uses a feature. Names are lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matcher {
    Element(&'static str),
    /// The element with at least one attribute.
    ElementWithAttributes(&'static str),
    /// An attribute, on the element named or on any element, whose value passes.
    Attribute(Option<&'static str>, &'static str, Value),
    /// A declaration of the property or of one of its longhands (\`margin-left\` for
    /// \`margin\`) whose value passes; the longest property name that matches wins.
    Property(&'static str, Value),
    /// A custom property declaration, \`--name: value\`.
    CustomProperty,
    /// An identifier in a declaration's value.
    Keyword(&'static str),
    /// A function in a declaration's value.
    Function(&'static str),
    /// A function in a declaration's value whose arguments have no comma (\`rgb(0 0 0)\`).
    FunctionWithoutCommas(&'static str),
    /// A dimension's unit, or \`%\`.
    Unit(&'static str),
    Important,
    /// \`!important\` not written in lowercase.
    ImportantNotLowercase,
    AtRule(&'static str),
    /// A media feature in an \`@media\` query, without its \`min-\`/\`max-\` prefix.
    MediaFeature(&'static str),
    PseudoClass(&'static str),
    PseudoElement(&'static str),
    Selector(Selector),
    CssComment,
    HtmlComment,
    /// An image (\`<img src>\`, \`srcset\`, CSS \`url()\`) whose file name ends in \`.ext\`.
    ImageFormat(&'static str),
    /// An image in a \`data:\` URL.
    ImageDataUri,
}

/// One caniemail feature and Gmail's support for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub slug: &'static str,
    pub title: &'static str,
    pub category: Category,
    pub gmail: Gmail,
    /// caniemail's notes for Gmail, with the platforms each applies to.
    pub notes: &'static str,
    pub url: &'static str,
    pub matchers: &'static [Matcher],
}

/// Properties Gmail fully supports that are named like the longhand of a feature below.
pub static SUPPORTED_PROPERTIES: &[&str] = &[${supportedProperties.map(rust).join(', ')}];

pub static FEATURES: &[Feature] = &[
`;
for (const { feature, row, found } of features) {
  out += `Feature {
    slug: ${rust(feature.slug)},
    title: ${rust(feature.title.trim())},
    category: Category::${category[feature.category]},
    gmail: Gmail::new(${PLATFORMS.map(([, field]) => row[field]).join(', ')}),
    notes: ${rust(gmailNotes(feature))},
    url: ${rust(feature.url)},
    matchers: &[${found.join(', ')}],
},
`;
}
out += '];\n';
writeFileSync(output, out);
console.log(
  `caniemail ${pkg.version} (data of ${date}): ${features.length} of ${data.data.length} features kept for Gmail`,
);
