//! The campaign's templates (minijinja): the subject, the text body and the HTML body.
//!
//! The HTML body escapes every variable; the subject and the text do not, since neither is
//! markup. A variable the row does not have is an error (`UndefinedBehavior::Strict`), never an
//! empty string, and each render has a fuel budget so no template can keep the bridge busy.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

/// The template sources, as the user wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Templates {
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

/// One row's message, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

/// What went wrong in a template; `template` is "subject", "text" or "html".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the {template} template has a syntax error on line {line}: {detail}")]
    Syntax {
        template: &'static str,
        line: usize,
        detail: String,
    },
    #[error(
        "the {template} template uses {variable:?} (line {line}), which is not a column of the list"
    )]
    Undefined {
        template: &'static str,
        variable: String,
        line: usize,
    },
    #[error(
        "the {template} template did too much work (more than {fuel} steps): simplify its loops"
    )]
    OutOfFuel { template: &'static str, fuel: u64 },
    #[error("the {template} template cannot be rendered (line {line}): {detail}")]
    Render {
        template: &'static str,
        line: usize,
        detail: String,
    },
}

/// The fuel for one template's render: far more than a letter needs, far less than a hang.
pub const DEFAULT_FUEL: u64 = 50_000;

/// The compiled templates, ready to render row after row.
#[derive(Debug)]
pub struct Renderer<'a> {
    env: Environment<'a>,
    templates: &'a Templates,
    fuel: u64,
}

const SUBJECT: &str = "subject";
const TEXT: &str = "text";
const HTML: &str = "html";

impl<'a> Renderer<'a> {
    /// Compiles every template, failing on the first syntax error.
    pub fn new(templates: &'a Templates, fuel: u64) -> Result<Renderer<'a>, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(fuel));
        // A body file ends with a newline; the message should too.
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(|name| {
            if name == HTML {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        let sources = [
            (SUBJECT, Some(&templates.subject)),
            (TEXT, templates.text.as_ref()),
            (HTML, templates.html.as_ref()),
        ];
        for (name, source) in sources {
            if let Some(source) = source {
                env.add_template(name, source)
                    .map_err(|error| describe(name, fuel, &error, String::new))?;
            }
        }
        Ok(Renderer {
            env,
            templates,
            fuel,
        })
    }

    /// The variables a template reads that are not in `known`, sorted.
    pub fn unknown_variables(&self, known: &[&str]) -> Vec<(&'static str, String)> {
        let mut unknown = Vec::new();
        for name in [SUBJECT, TEXT, HTML] {
            if let Ok(template) = self.env.get_template(name) {
                let mut names: Vec<String> = template
                    .undeclared_variables(false)
                    .into_iter()
                    .filter(|v| !known.contains(&v.as_str()))
                    .collect();
                names.sort();
                unknown.extend(names.into_iter().map(|v| (name, v)));
            }
        }
        unknown
    }

    /// The variables the subject reads, so an injected line break can be traced to a column.
    pub fn subject_variables(&self) -> Vec<String> {
        self.env
            .get_template(SUBJECT)
            .map(|t| t.undeclared_variables(false).into_iter().collect())
            .unwrap_or_default()
    }

    /// Renders every template with one row's variables.
    pub fn render(&self, vars: &BTreeMap<&str, &str>) -> Result<Rendered, TemplateError> {
        let one = |name: &'static str, source: Option<&String>| {
            if source.is_none() {
                return Ok(None);
            }
            let template = self
                .env
                .get_template(name)
                .map_err(|error| describe(name, self.fuel, &error, String::new))?;
            template.render(vars).map(Some).map_err(|error| {
                // minijinja names no variable without its debug feature: the template's
                // variables that the row lacks are the ones at fault.
                let missing = || {
                    let mut names: Vec<String> = template
                        .undeclared_variables(false)
                        .into_iter()
                        .filter(|v| !vars.contains_key(v.as_str()))
                        .collect();
                    names.sort();
                    names.join(", ")
                };
                describe(name, self.fuel, &error, missing)
            })
        };
        Ok(Rendered {
            subject: one(SUBJECT, Some(&self.templates.subject))?.unwrap_or_default(),
            text: one(TEXT, self.templates.text.as_ref())?,
            html: one(HTML, self.templates.html.as_ref())?,
        })
    }
}

fn describe(
    template: &'static str,
    fuel: u64,
    error: &minijinja::Error,
    missing: impl FnOnce() -> String,
) -> TemplateError {
    let line = error.line().unwrap_or(1);
    let detail = error
        .detail()
        .map_or_else(|| error.kind().to_string(), str::to_owned);
    match error.kind() {
        ErrorKind::SyntaxError | ErrorKind::BadEscape => TemplateError::Syntax {
            template,
            line,
            detail,
        },
        ErrorKind::UndefinedError => TemplateError::Undefined {
            template,
            variable: Some(missing())
                .filter(|names| !names.is_empty())
                .unwrap_or_else(|| "a variable".to_owned()),
            line,
        },
        ErrorKind::OutOfFuel => TemplateError::OutOfFuel { template, fuel },
        _ => TemplateError::Render {
            template,
            line,
            detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates(subject: &str, text: &str, html: &str) -> Templates {
        Templates {
            subject: subject.to_owned(),
            text: Some(text.to_owned()),
            html: Some(html.to_owned()),
        }
    }

    fn vars<'a>(pairs: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, &'a str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn rendering_escapes_html_only() {
        // (subject, text, html, variables, expected subject, text, html)
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a str,
            &'a [(&'a str, &'a str)],
            [&'a str; 3],
        );
        let cases: &[Case<'_>] = &[
            (
                "Hello {{ name }}",
                "Dear {{ name }},\n",
                "<p>Dear {{ name }}</p>\n",
                &[("name", "Ann")],
                ["Hello Ann", "Dear Ann,\n", "<p>Dear Ann</p>\n"],
            ),
            (
                "{{ name }} & co",
                "{{ name }}",
                "<b>{{ name }}</b>",
                &[("name", "<Tom & \"Jerry\">")],
                [
                    "<Tom & \"Jerry\"> & co",
                    "<Tom & \"Jerry\">",
                    "<b>&lt;Tom &amp; &quot;Jerry&quot;&gt;</b>",
                ],
            ),
            (
                "{{ name | upper }}{% if vip == 'yes' %} (VIP){% endif %}",
                "{{ name }}",
                "{{ name | safe }}",
                &[("name", "<i>ann</i>"), ("vip", "yes")],
                ["<I>ANN</I> (VIP)", "<i>ann</i>", "<i>ann</i>"],
            ),
        ];
        for (subject, text, html, pairs, [want_subject, want_text, want_html]) in cases {
            let sources = templates(subject, text, html);
            let renderer = Renderer::new(&sources, DEFAULT_FUEL).expect("compiles");
            let rendered = renderer.render(&vars(pairs)).expect("renders");
            assert_eq!(rendered.subject, *want_subject, "{subject}");
            assert_eq!(rendered.text.as_deref(), Some(*want_text), "{text}");
            assert_eq!(rendered.html.as_deref(), Some(*want_html), "{html}");
        }
    }

    #[test]
    fn errors_name_the_template_the_line_and_the_variable() {
        let cases: &[(Templates, TemplateError)] = &[
            (
                templates("Hi {{ nmae }}", "", ""),
                TemplateError::Undefined {
                    template: "subject",
                    variable: "nmae".into(),
                    line: 1,
                },
            ),
            (
                templates("Hi", "Line one\n{{ name }}\n{{ city | upper }}\n", ""),
                TemplateError::Undefined {
                    template: "text",
                    variable: "city".into(),
                    line: 3,
                },
            ),
            (
                templates("Hi", "", "<p>\n{% for x in %}\n</p>"),
                TemplateError::Syntax {
                    template: "html",
                    line: 2,
                    detail: String::new(),
                },
            ),
            (
                templates("Hi {{ name", "", ""),
                TemplateError::Syntax {
                    template: "subject",
                    line: 1,
                    detail: String::new(),
                },
            ),
            (
                templates(
                    "Hi",
                    "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}",
                    "",
                ),
                TemplateError::OutOfFuel {
                    template: "text",
                    fuel: DEFAULT_FUEL,
                },
            ),
        ];
        for (sources, expected) in cases {
            let got = Renderer::new(sources, DEFAULT_FUEL)
                .and_then(|renderer| renderer.render(&vars(&[("name", "Ann")])));
            let got = match got {
                // The parser's wording is minijinja's; the template and the line are ours.
                Err(TemplateError::Syntax { template, line, .. }) => TemplateError::Syntax {
                    template,
                    line,
                    detail: String::new(),
                },
                Err(error) => error,
                Ok(rendered) => panic!("{sources:?} rendered {rendered:?}"),
            };
            assert_eq!(&got, expected, "{sources:?}");
        }
    }

    #[test]
    fn unknown_variables_are_found_before_any_row() {
        let sources = templates("{{ name }}", "{{ city }} {{ name }}", "{{ zip }}");
        let renderer = Renderer::new(&sources, DEFAULT_FUEL).expect("compiles");
        assert_eq!(
            renderer.unknown_variables(&["name"]),
            [("text", "city".to_owned()), ("html", "zip".to_owned())]
        );
    }
}
