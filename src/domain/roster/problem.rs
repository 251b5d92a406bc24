//! What can be wrong in a roster file, worded for the supervisor who pasted it: in Chinese,
//! naming the row (counted below the header, as the lawyers are) and the column by its header
//! name and its meaning. Whatever is quoted from the file stands in “…”.

/// A problem in the roster file, with the row (1 = the first lawyer, 0 = the header) and the
/// column (empty: the whole row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}：{problem}", place(*.row), column_words(.column))]
pub struct RosterError {
    pub row: usize,
    pub column: &'static str,
    pub problem: Problem,
}

fn place(row: usize) -> String {
    match row {
        0 => "表头".into(),
        n => format!("表头下第 {n} 行"),
    }
}

fn column_words(name: &str) -> String {
    let meaning = match name {
        "" => return String::new(),
        "name" => "姓名",
        "phone" => "电话",
        "skills" => "专长",
        "regions" => "服务地区",
        "max_cases" => "案件上限",
        "shifts" => "班次",
        "exceptions" => "例外日期",
        _ => "未知列",
    };
    format!("，“{name}”列（{meaning}）")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("表头里没有这一列")]
    MissingColumn,
    #[error("无法读取表头，文件须为 UTF-8 编码的 CSV")]
    UnreadableHeader,
    #[error("无法读取这一行，文件须为 UTF-8 编码的 CSV")]
    UnreadableRow,
    #[error("这一行有 {found} 列，表头有 {expected} 列")]
    FieldCount { found: u64, expected: u64 },
    #[error("不能为空")]
    Empty,
    #[error("“{0}”不是有效的电话号码")]
    Phone(String),
    #[error("电话号码与表头下第 {0} 行相同")]
    SamePhone(usize),
    #[error("不认识的专长“{0}”，可填事项（如“labour_wages”）、“sign_language”、“sms”或“dialect:方言名”")]
    Skill(String),
    #[error("“{0}”不是 6 位（市、区县）或 9 位（乡镇）的行政区划代码")]
    Region(String),
    #[error("至少要填一个服务地区")]
    NoRegion,
    #[error("“{0}”不是 1 到 100 之间的整数")]
    MaxCases(String),
    #[error("“{entry}”{problem}")]
    Time { entry: String, problem: TimeProblem },
}

/// What is wrong with one shift or exception.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeProblem {
    #[error("应写成“星期 时:分-时:分”，例如“mon-fri 09:00-17:00”")]
    ShiftFormat,
    #[error("里的“{0}”不是星期（“mon”到“sun”）")]
    Day(String),
    #[error("的星期须从前往后，例如“mon-fri”")]
    DaysBackwards,
    #[error("的时间应写成“时:分-时:分”")]
    HoursFormat,
    #[error("里的“{0}”不是时间（时:分）")]
    Time(String),
    #[error("的结束时间须晚于开始时间（夜班请在午夜分成两段）")]
    EndBeforeStart,
    #[error("应写成“年-月-日 off”或“年-月-日 时:分-时:分”")]
    ExceptionFormat,
    #[error("里的“{0}”不是日期（年-月-日）")]
    Date(String),
}
