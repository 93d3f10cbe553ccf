//! Telnet (RFC 854/855) option negotiation and a login conversation, without sockets.
//!
//! [`Negotiator`] splits a byte stream into application text and negotiation replies. It
//! agrees to the options a login needs (the server echoing and suppressing go-ahead), offers
//! a terminal type (RFC 1091) and window size (RFC 1073) when asked, refuses everything else,
//! and never answers a request that would not change an option's state (the loop rule of
//! RFC 854).
//!
//! [`Login`] drives one login attempt over the text: it answers the login and password
//! prompts, then proves a shell by sending `echo` of a random marker written with quotes, so
//! the marker only appears in the output if a shell evaluated it (a terminal echoing the typed
//! line shows the quotes). Prompts alone never count as success: that is what makes BusyBox
//! and honeypot logins false positives in other tools.

pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const SE: u8 = 240;
pub const OPT_ECHO: u8 = 1;
pub const OPT_SGA: u8 = 3;
pub const OPT_TTYPE: u8 = 24;
pub const OPT_NAWS: u8 = 31;

const MAX_SUB: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Data,
    Iac,
    Verb(u8),
    Sub,
    SubIac,
}

/// Sans-IO telnet option negotiation.
#[derive(Clone, Debug)]
pub struct Negotiator {
    state: State,
    /// Options we perform (we said WILL and the server agreed or asked).
    local: [bool; 256],
    /// Options the server performs.
    remote: [bool; 256],
    sub: Vec<u8>,
    /// Whether the server ever sent a negotiation command.
    pub saw_negotiation: bool,
}

impl Default for Negotiator {
    fn default() -> Self {
        Negotiator {
            state: State::Data,
            local: [false; 256],
            remote: [false; 256],
            sub: Vec::new(),
            saw_negotiation: false,
        }
    }
}

/// What one chunk of input produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Application bytes (text) with commands removed.
    pub data: Vec<u8>,
    /// Bytes to send back to the server.
    pub reply: Vec<u8>,
}

impl Negotiator {
    /// Process bytes from the server.
    pub fn feed(&mut self, input: &[u8]) -> Parsed {
        let mut out = Parsed::default();
        for &b in input {
            self.state = match self.state {
                State::Data => {
                    if b == IAC {
                        State::Iac
                    } else {
                        out.data.push(b);
                        State::Data
                    }
                }
                State::Iac => match b {
                    IAC => {
                        out.data.push(IAC);
                        State::Data
                    }
                    WILL | WONT | DO | DONT => {
                        self.saw_negotiation = true;
                        State::Verb(b)
                    }
                    SB => {
                        self.saw_negotiation = true;
                        self.sub.clear();
                        State::Sub
                    }
                    _ => State::Data, // NOP, GA, AYT, ... carry nothing we need
                },
                State::Verb(v) => {
                    self.answer(v, b, &mut out.reply);
                    State::Data
                }
                State::Sub => {
                    if b == IAC {
                        State::SubIac
                    } else {
                        if self.sub.len() < MAX_SUB {
                            self.sub.push(b);
                        }
                        State::Sub
                    }
                }
                State::SubIac => match b {
                    SE => {
                        self.subnegotiation(&mut out.reply);
                        State::Data
                    }
                    IAC => {
                        if self.sub.len() < MAX_SUB {
                            self.sub.push(IAC);
                        }
                        State::Sub
                    }
                    _ => State::Data, // malformed: drop the subnegotiation
                },
            };
        }
        out
    }

    fn answer(&mut self, verb: u8, opt: u8, reply: &mut Vec<u8>) {
        let o = usize::from(opt);
        match verb {
            WILL => {
                let want = matches!(opt, OPT_ECHO | OPT_SGA);
                if want && !self.remote[o] {
                    self.remote[o] = true;
                    reply.extend_from_slice(&[IAC, DO, opt]);
                } else if !want && self.remote[o] {
                    self.remote[o] = false;
                    reply.extend_from_slice(&[IAC, DONT, opt]);
                } else if !want {
                    // First refusal of an option never enabled: answer once (state stays off).
                    reply.extend_from_slice(&[IAC, DONT, opt]);
                    self.remote[o] = false;
                }
            }
            WONT if self.remote[o] => {
                self.remote[o] = false;
                reply.extend_from_slice(&[IAC, DONT, opt]);
            }
            DO => {
                let can = matches!(opt, OPT_SGA | OPT_TTYPE | OPT_NAWS);
                if can && !self.local[o] {
                    self.local[o] = true;
                    reply.extend_from_slice(&[IAC, WILL, opt]);
                    if opt == OPT_NAWS {
                        // RFC 1073: IAC SB NAWS width(16) height(16) IAC SE; 80x24.
                        reply.extend_from_slice(&[IAC, SB, OPT_NAWS, 0, 80, 0, 24, IAC, SE]);
                    }
                } else if !can {
                    reply.extend_from_slice(&[IAC, WONT, opt]);
                }
            }
            DONT if self.local[o] => {
                self.local[o] = false;
                reply.extend_from_slice(&[IAC, WONT, opt]);
            }
            _ => {}
        }
    }

    fn subnegotiation(&mut self, reply: &mut Vec<u8>) {
        // RFC 1091: IAC SB TERMINAL-TYPE SEND IAC SE -> IAC SB TERMINAL-TYPE IS "VT100" IAC SE
        if self.sub.first() == Some(&OPT_TTYPE)
            && self.sub.get(1) == Some(&1)
            && self.local[usize::from(OPT_TTYPE)]
        {
            reply.extend_from_slice(&[IAC, SB, OPT_TTYPE, 0]);
            reply.extend_from_slice(b"VT100");
            reply.extend_from_slice(&[IAC, SE]);
        }
    }
}

/// Escape IAC bytes in data we send.
pub fn escape(data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 2);
    for &b in data {
        v.push(b);
        if b == IAC {
            v.push(IAC);
        }
    }
    v
}

/// How a login attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    /// A shell evaluated the marker command.
    Shell,
    /// The device rejected the credential (prompted again or said so).
    Rejected,
    /// The device never asked for a login or password.
    NoPrompt,
    /// Nothing conclusive happened before the time ran out or the device closed.
    Inconclusive(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    AwaitPrompt,
    AwaitPassword,
    AwaitResult,
    AwaitMarker,
    Done,
}

/// One login attempt as a state machine over text.
#[derive(Clone, Debug)]
pub struct Login {
    user: String,
    password: String,
    marker_cmd: String,
    marker_out: String,
    phase: Phase,
    /// Text received in the current phase (bounded).
    text: String,
    /// Whether the device asked only for a password (no user name).
    pub password_only: bool,
    marker_sent: bool,
    password_sent: bool,
    /// The marker went out on a quiet line, before any shell prompt was seen.
    marker_early: bool,
    /// The early marker was typed again at the first shell prompt.
    marker_resent: bool,
    outcome: Option<LoginOutcome>,
}

const MAX_TEXT: usize = 16 * 1024;

/// Failure phrases printed by common logins (BusyBox, util-linux/shadow, PAM, vendor CLIs).
const FAILURE: &[&str] = &[
    "login incorrect",
    "incorrect login",
    "incorrect password",
    "password incorrect",
    "authentication failed",
    "authentication failure",
    "access denied",
    "login failed",
    "invalid login",
    "invalid password",
    "invalid user",
    "bad password",
    "wrong password",
    "permission denied",
];

impl Login {
    /// A new attempt. `nonce` makes the marker unique (16 hex digits).
    pub fn new(user: &str, password: &str, nonce: u64) -> Login {
        let hex = format!("{nonce:016x}");
        let (a, b) = hex.split_at(8);
        Login {
            user: user.to_string(),
            password: password.to_string(),
            marker_cmd: format!("echo iot{a}''{b}"),
            marker_out: format!("iot{a}{b}"),
            phase: Phase::AwaitPrompt,
            text: String::new(),
            password_only: false,
            marker_sent: false,
            password_sent: false,
            marker_early: false,
            marker_resent: false,
            outcome: None,
        }
    }

    /// The result, once decided.
    pub fn outcome(&self) -> Option<&LoginOutcome> {
        self.outcome.as_ref()
    }

    /// Whether the password has been sent: from here on the device owes a verdict, and a
    /// long wait is its fail delay.
    pub fn credential_sent(&self) -> bool {
        self.password_sent
    }

    /// The marker command line (for tests).
    pub fn marker_command(&self) -> &str {
        &self.marker_cmd
    }

    fn finish(&mut self, o: LoginOutcome) {
        self.phase = Phase::Done;
        self.outcome = Some(o);
    }

    fn line(s: &str) -> Vec<u8> {
        let mut v = escape(s.as_bytes());
        v.extend_from_slice(b"\r\n");
        v
    }

    fn enter(&mut self, p: Phase) {
        self.phase = p;
        self.text.clear();
    }

    /// Feed application text (from [`Negotiator`]); returns bytes to send.
    pub fn on_text(&mut self, data: &[u8]) -> Vec<u8> {
        if self.phase == Phase::Done {
            return Vec::new();
        }
        let s = String::from_utf8_lossy(data);
        if self.text.len() + s.len() > MAX_TEXT {
            let keep = MAX_TEXT / 2;
            let cut = self.text.len().saturating_sub(keep);
            let cut = (cut..self.text.len())
                .find(|i| self.text.is_char_boundary(*i))
                .unwrap_or(self.text.len());
            self.text.drain(..cut);
        }
        self.text.push_str(&s);
        let tail = last_line(&self.text);
        match self.phase {
            Phase::AwaitPrompt => {
                if is_login_prompt(&tail) {
                    self.enter(Phase::AwaitPassword);
                    return Login::line(&self.user);
                }
                if is_password_prompt(&tail) {
                    self.password_only = true;
                    self.password_sent = true;
                    self.enter(Phase::AwaitResult);
                    return Login::line(&self.password);
                }
                Vec::new()
            }
            Phase::AwaitPassword => {
                if is_password_prompt(&tail) {
                    self.password_sent = true;
                    self.enter(Phase::AwaitResult);
                    return Login::line(&self.password);
                }
                if contains_failure(&self.text) {
                    self.finish(LoginOutcome::Rejected);
                }
                Vec::new()
            }
            Phase::AwaitResult => {
                if contains_failure(&self.text)
                    || is_login_prompt(&tail)
                    || is_password_prompt(&tail)
                {
                    self.finish(LoginOutcome::Rejected);
                    return Vec::new();
                }
                if looks_like_shell_prompt(&tail) {
                    return self.send_marker();
                }
                Vec::new()
            }
            Phase::AwaitMarker => {
                if self.text.contains(&self.marker_out) {
                    self.finish(LoginOutcome::Shell);
                } else if is_login_prompt(&tail)
                    || is_password_prompt(&tail)
                    || contains_failure(&self.text)
                {
                    self.finish(LoginOutcome::Rejected);
                } else if self.marker_early && !self.marker_resent && looks_like_shell_prompt(&tail)
                {
                    // The marker typed on a quiet line may have been flushed by the login
                    // program before the shell started: type it once more at the prompt.
                    self.marker_resent = true;
                    return Login::line(&self.marker_cmd);
                }
                Vec::new()
            }
            Phase::Done => Vec::new(),
        }
    }

    fn send_marker(&mut self) -> Vec<u8> {
        self.marker_sent = true;
        self.enter(Phase::AwaitMarker);
        Login::line(&self.marker_cmd)
    }

    /// The device has been quiet for a while. After the password, a quiet device may be
    /// showing a prompt we do not recognise: try the marker once.
    pub fn on_quiet(&mut self) -> Vec<u8> {
        match self.phase {
            Phase::AwaitResult if !self.marker_sent => {
                self.marker_early = true;
                self.send_marker()
            }
            _ => Vec::new(),
        }
    }

    /// The device closed the connection or the time ran out.
    pub fn on_end(&mut self, timed_out: bool) {
        if self.phase == Phase::Done {
            return;
        }
        let o = match self.phase {
            Phase::AwaitPrompt => LoginOutcome::NoPrompt,
            // Ending the session after the password without a shell is how some devices refuse.
            Phase::AwaitResult | Phase::AwaitMarker if !timed_out => LoginOutcome::Rejected,
            Phase::AwaitPassword if !timed_out => {
                LoginOutcome::Inconclusive("closed before the password prompt")
            }
            Phase::AwaitPassword => {
                LoginOutcome::Inconclusive("no password prompt before the time limit")
            }
            _ => LoginOutcome::Inconclusive("no shell marker before the time limit"),
        };
        self.finish(o);
    }
}

/// Remove ANSI escape sequences and control characters other than newline.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            if it.peek() == Some(&'[') {
                it.next();
                for d in it.by_ref() {
                    if d.is_ascii_alphabetic() || d == '~' {
                        break;
                    }
                }
            } else {
                it.next();
            }
        } else if c == '\n' || c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out
}

fn last_line(s: &str) -> String {
    let c = clean(s);
    let line = c.trim_end().rsplit('\n').next().unwrap_or("");
    line.trim().to_lowercase()
}

/// Whether the last line asks for a user name.
pub fn is_login_prompt(line: &str) -> bool {
    let l = line.trim_end().to_lowercase();
    [
        "login:",
        "username:",
        "user name:",
        "user:",
        "login as:",
        "userid:",
        "user id:",
    ]
    .iter()
    .any(|p| l.ends_with(p))
}

/// Whether the last line asks for a password.
pub fn is_password_prompt(line: &str) -> bool {
    let l = line.trim_end().to_lowercase();
    l.ends_with("password:")
        || l.ends_with("passwd:")
        || l.ends_with("password :")
        || (l.contains("password for") && l.ends_with(':'))
}

fn contains_failure(text: &str) -> bool {
    let t = text.to_lowercase();
    FAILURE.iter().any(|f| t.contains(f))
}

/// Whether the last line ends like a shell or CLI prompt (`#`, `$`, `>`, `%`).
pub fn looks_like_shell_prompt(line: &str) -> bool {
    matches!(line.trim_end().chars().last(), Some('#' | '$' | '>' | '%'))
}

/// Whether a greeting looks like telnet: negotiation bytes or a login prompt.
pub fn looks_like_telnet(first: &[u8]) -> bool {
    if first.first() == Some(&IAC)
        && first
            .get(1)
            .is_some_and(|v| (WILL..=DONT).contains(v) || *v == SB)
    {
        return true;
    }
    let text = String::from_utf8_lossy(first);
    let tail = last_line(&text);
    is_login_prompt(&tail) || is_password_prompt(&tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_agrees_to_echo_and_refuses_unknown() {
        let mut n = Negotiator::default();
        let p = n.feed(&[
            IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA, IAC, DO, 39, b'h', b'i',
        ]);
        assert_eq!(p.data, b"hi");
        assert_eq!(
            p.reply,
            vec![IAC, DO, OPT_ECHO, IAC, DO, OPT_SGA, IAC, WONT, 39]
        );
        // A repeated WILL ECHO does not produce another DO (RFC 854 loop rule).
        assert!(n.feed(&[IAC, WILL, OPT_ECHO]).reply.is_empty());
    }

    #[test]
    fn naws_and_terminal_type() {
        let mut n = Negotiator::default();
        let p = n.feed(&[
            IAC, DO, OPT_NAWS, IAC, DO, OPT_TTYPE, IAC, SB, OPT_TTYPE, 1, IAC, SE,
        ]);
        let mut want = vec![
            IAC, WILL, OPT_NAWS, IAC, SB, OPT_NAWS, 0, 80, 0, 24, IAC, SE, IAC, WILL, OPT_TTYPE,
        ];
        want.extend_from_slice(&[IAC, SB, OPT_TTYPE, 0, b'V', b'T', b'1', b'0', b'0', IAC, SE]);
        assert_eq!(p.reply, want);
        assert!(n.feed(&[IAC, DO, OPT_NAWS]).reply.is_empty());
    }

    #[test]
    fn split_commands_and_escaped_iac() {
        let mut n = Negotiator::default();
        let a = n.feed(&[b'a', IAC]);
        let b = n.feed(&[WILL]);
        let c = n.feed(&[OPT_SGA, IAC, IAC, b'z']);
        assert_eq!(a.data, b"a");
        assert!(b.reply.is_empty());
        assert_eq!(c.reply, vec![IAC, DO, OPT_SGA]);
        assert_eq!(c.data, vec![IAC, b'z']);
    }

    fn run(login: &mut Login, server: &[&str]) -> Vec<String> {
        let mut sent = Vec::new();
        for s in server {
            let out = login.on_text(s.as_bytes());
            if !out.is_empty() {
                sent.push(String::from_utf8_lossy(&out).trim_end().to_string());
            }
        }
        sent
    }

    #[test]
    fn busybox_success_needs_marker() {
        let mut l = Login::new("root", "xc3511", 0x1122334455667788);
        let cmd = l.marker_command().to_string();
        assert_eq!(cmd, "echo iot11223344''55667788");
        let sent = run(
            &mut l,
            &[
                "\r\ncam login: ",
                "Password: ",
                "\r\n~ # ",
                "echo iot11223344''55667788\r\n",
            ],
        );
        assert_eq!(sent, vec!["root", "xc3511", cmd.as_str()]);
        // The echoed command line alone is not proof.
        assert_eq!(l.outcome(), None);
        l.on_text(b"iot1122334455667788\r\n~ # ");
        assert_eq!(l.outcome(), Some(&LoginOutcome::Shell));
    }

    #[test]
    fn busybox_failure_is_rejected() {
        let mut l = Login::new("root", "bad", 1);
        run(
            &mut l,
            &[
                "login: ",
                "Password: ",
                "\r\nLogin incorrect\r\ncam login: ",
            ],
        );
        assert_eq!(l.outcome(), Some(&LoginOutcome::Rejected));
    }

    #[test]
    fn fake_shell_prompt_without_evaluation_is_not_success() {
        // A honeypot-like device that shows `# ` after any password and echoes input.
        let mut l = Login::new("root", "x", 7);
        let sent = run(&mut l, &["login: ", "Password: ", "\r\n# "]);
        assert_eq!(sent.len(), 3);
        let echo = format!("{}\r\n# ", l.marker_command());
        l.on_text(echo.as_bytes());
        assert_eq!(l.outcome(), None);
        l.on_end(true);
        assert!(matches!(l.outcome(), Some(LoginOutcome::Inconclusive(_))));
    }

    #[test]
    fn quiet_after_password_sends_marker_once() {
        let mut l = Login::new("admin", "admin", 2);
        run(&mut l, &["Username:", "Password:"]);
        let m = l.on_quiet();
        assert!(String::from_utf8_lossy(&m).starts_with("echo iot"));
        assert!(l.on_quiet().is_empty());
        l.on_text(b"\r\n% Unknown command\r\nUsername:");
        assert_eq!(l.outcome(), Some(&LoginOutcome::Rejected));
    }

    /// Under load the shell may come up after the line has been quiet for a while: the
    /// marker typed early is typed again at the first shell prompt, once.
    #[test]
    fn early_marker_is_typed_again_at_the_prompt() {
        let mut l = Login::new("admin", "admin", 5);
        run(&mut l, &["login: ", "Password: "]);
        assert!(l.credential_sent());
        assert!(!l.on_quiet().is_empty());
        let again = l.on_text(b"\r\n~ $ ");
        assert_eq!(
            String::from_utf8_lossy(&again).trim_end(),
            l.marker_command()
        );
        assert!(l.on_text(b"\r\n~ $ ").is_empty(), "typed a third time");
        l.on_text(b"iot0000000000000005\r\n~ $ ");
        assert_eq!(l.outcome(), Some(&LoginOutcome::Shell));
    }

    #[test]
    fn closed_before_the_password_prompt_is_no_verdict() {
        let mut l = Login::new("admin", "admin", 6);
        run(&mut l, &["login: "]);
        assert!(!l.credential_sent());
        l.on_end(false);
        assert!(matches!(l.outcome(), Some(LoginOutcome::Inconclusive(_))));
        let mut l = Login::new("admin", "admin", 6);
        run(&mut l, &["login: ", "Password: "]);
        l.on_end(false);
        assert_eq!(l.outcome(), Some(&LoginOutcome::Rejected));
    }

    #[test]
    fn password_only_device() {
        let mut l = Login::new("", "1234", 3);
        let sent = run(&mut l, &["\x1b[2J\r\nPassword: "]);
        assert_eq!(sent, vec!["1234"]);
        assert!(l.password_only);
    }

    #[test]
    fn closed_before_prompt() {
        let mut l = Login::new("a", "b", 3);
        l.on_text(b"garbage");
        l.on_end(false);
        assert_eq!(l.outcome(), Some(&LoginOutcome::NoPrompt));
    }

    #[test]
    fn greeting_detection() {
        assert!(looks_like_telnet(&[IAC, DO, OPT_ECHO]));
        assert!(looks_like_telnet(b"\r\nrouter login: "));
        assert!(!looks_like_telnet(b"SSH-2.0-dropbear\r\n"));
        assert!(!looks_like_telnet(b"220 ftp ready\r\n"));
    }
}
