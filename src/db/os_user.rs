//! The operating-system account running retort: libpq's default database
//! user, and the `os_user` of history rows.

/// libpq uses the operating-system account name as the default user.
pub fn os_user_name(getenv: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|var| getenv(var).filter(|name| !name.is_empty()))
        .or_else(user_name_from_passwd)
}

/// The account name of this process's uid, from /etc/passwd (containers
/// often run without USER set).
#[cfg(target_os = "linux")]
fn user_name_from_passwd() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let entry_uid: u32 = fields.nth(1)?.parse().ok()?;
        (entry_uid == uid).then(|| name.to_string())
    })
}

#[cfg(not(target_os = "linux"))]
fn user_name_from_passwd() -> Option<String> {
    None
}
