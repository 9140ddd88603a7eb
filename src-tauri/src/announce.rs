//! Calling a ticket by voice (大厅叫号语音): "请Y001号到3号窗口办理", spoken with espeak-ng's
//! Mandarin voice — offline, from Debian's package — and played on the desk's speaker. The
//! spoken call is kept as the last call's WAV in the data directory (ticket and window only,
//! nothing personal), which is also what a recall (重呼) plays again.

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The announcement of `ticket_no` for `window_no` (without a window number: to "the window").
pub fn call_text(ticket_no: &str, window_no: Option<u32>) -> String {
    match window_no {
        Some(n) => format!("请{ticket_no}号到{n}号窗口办理"),
        None => format!("请{ticket_no}号到窗口办理"),
    }
}

/// The file the last call is spoken into.
pub fn last_call_file(data_dir: &Path) -> PathBuf {
    data_dir.join("announce").join("last-call.wav")
}

/// Speaks `text` into [`last_call_file`], then plays it (aplay, else paplay; none found is not
/// an error: the call still shows on the screen). Returns the file.
pub async fn speak(text: &str, data_dir: &Path) -> Result<PathBuf, String> {
    let file = last_call_file(data_dir);
    let dir = file.parent().expect("a directory");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}：{e}", dir.display()))?;
    let tmp = dir.join(".last-call.wav.part");
    // 140 words a minute: clear across a hall, as county halls' callers speak.
    let status = tokio::process::Command::new("espeak-ng")
        .args(["-v", "cmn", "-s", "140", "-w"])
        .arg(&tmp)
        .arg(text)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .map_err(|e| format!("无法启动语音合成（espeak-ng）：{e}"))?;
    if !status.success() {
        return Err(format!("语音合成失败（espeak-ng 退出码 {:?}）", status.code()));
    }
    std::fs::rename(&tmp, &file).map_err(|e| format!("{}：{e}", file.display()))?;
    play(&file).await;
    Ok(file)
}

/// Plays `file` on the desk's speaker with the first player found.
pub async fn play(file: &Path) {
    for player in [&["aplay", "-q"][..], &["paplay"][..]] {
        let run = tokio::process::Command::new(player[0])
            .args(&player[1..])
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        match run {
            Ok(s) if s.success() => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                tracing::warn!(error = %e, "call not played");
                return;
            }
        }
    }
    tracing::info!("no audio player answered; the call is shown on the screen only");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_names_the_ticket_and_the_window() {
        assert_eq!(call_text("Y001", Some(3)), "请Y001号到3号窗口办理");
        assert_eq!(call_text("W012", None), "请W012号到窗口办理");
    }
}
