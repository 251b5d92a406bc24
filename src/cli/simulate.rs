//! `simulate`: the provider's part, played against a running server.

use std::path::PathBuf;

use anyhow::Context;
use hotline::config::Settings;
use hotline::simulate::{parse_script, Call, Step};

pub async fn simulate(
    settings: &Settings,
    url: Option<String>,
    from: &str,
    script: Option<PathBuf>,
) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    anyhow::ensure!(
        !settings.twilio.auth_token.expose_secret().is_empty(),
        "set HOTLINE_TWILIO_AUTH_TOKEN to the server's token: webhooks are signed with it"
    );
    let base = url.unwrap_or_else(|| settings.public_url.as_str().to_owned());
    let to = match settings.hotline_number.as_str() {
        "" => "+8612348",
        number => number,
    };
    let account = match settings.twilio.account_sid.as_str() {
        "" => "AC00000000000000000000000000000000",
        sid => sid,
    };
    let call = Call::new(&base, settings.twilio.auth_token.expose_secret(), account, from, to);
    let print = |heard: hotline::simulate::Heard| println!("{heard}");
    match script {
        Some(file) => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut steps = parse_script(&text)
                .with_context(|| file.display().to_string())?
                .into_iter();
            call.run(
                |_| {
                    let step = steps.next();
                    if let Some(s) = &step {
                        println!("   ▶ {s:?}");
                    }
                    step
                },
                print,
            )
            .await?;
        }
        None => {
            println!("Keys then Enter (an empty line waits); also: say URL, dial completed|no-answer, hangup.");
            call.run(
                |waiting| loop {
                    eprint!("{waiting:?}> ");
                    let mut line = String::new();
                    if std::io::stdin().read_line(&mut line).ok()? == 0 {
                        return None;
                    }
                    let line = line.trim();
                    if line.is_empty() {
                        return Some(Step::Wait);
                    }
                    let typed = if line.starts_with(|c: char| c.is_ascii_digit() || c == '*' || c == '#') {
                        format!("press {line}")
                    } else {
                        line.to_owned()
                    };
                    match Step::parse(&typed) {
                        Ok(Some(step)) => return Some(step),
                        Ok(None) => {}
                        Err(problem) => eprintln!("{problem}"),
                    }
                },
                print,
            )
            .await?;
        }
    }
    Ok(())
}
