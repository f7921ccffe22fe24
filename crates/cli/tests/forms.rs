//! Every state-changing form of the web UI, driven once in headless Chromium against
//! `datahall serve --demo` (SQLite): each step fills a form as a person would, presses its
//! button, and asserts the page it lands on and the change it made. One refused form of
//! each kind comes back as the same page, with what was typed kept and a Chinese message
//! next to the field. Screenshots of every landing page go to `target/screenshots/`.
//!
//! Skipped, loudly, when Chromium or chromedriver is missing, unless
//! `DATAHALL_TEST_BROWSER=required` (CI). The step that pulls from a department database
//! needs `DATAHALL_TEST_MYSQL_URL` (skipped, announced, without it).

mod support;

use std::time::Duration;

use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};

type Step<T = ()> = Result<T, CmdError>;

/// The browser on the data hall: fills and presses forms, reads what the page says.
struct Hall<'a> {
    client: &'a Client,
    base: String,
    shots: std::path::PathBuf,
    taken: std::cell::Cell<usize>,
}

impl Hall<'_> {
    async fn open(&self, path: &str) -> Step {
        self.client.goto(&format!("{}{path}", self.base)).await
    }

    async fn path(&self) -> Step<String> {
        Ok(self.client.current_url().await?.path().to_string())
    }

    async fn url(&self) -> Step<url::Url> {
        self.client.current_url().await
    }

    /// What the page says, as a person reads it.
    async fn text(&self) -> Step<String> {
        self.client.find(Locator::Css("body")).await?.text().await
    }

    async fn heading(&self) -> Step<String> {
        self.client.find(Locator::Css("h1")).await?.text().await
    }

    /// The text of `css` (e.g. a table row).
    async fn text_of(&self, css: &str) -> Step<String> {
        self.client.find(Locator::Css(css)).await?.text().await
    }

    async fn value_of(&self, css: &str) -> Step<String> {
        Ok(self
            .client
            .find(Locator::Css(css))
            .await?
            .prop("value")
            .await?
            .unwrap_or_default())
    }

    /// Sets the field `name` of `form` (its `n`th, for repeated fields) to `value`: a
    /// select by option value, anything else as typed text.
    async fn set_nth(&self, form: &str, name: &str, n: usize, value: &str) -> Step {
        let fields = self
            .client
            .find_all(Locator::Css(&format!("{form} [name=\"{name}\"]")))
            .await?;
        let field = fields
            .get(n)
            .unwrap_or_else(|| panic!("{form} has no field {name} #{n} ({} found)", fields.len()));
        if field.tag_name().await?.eq_ignore_ascii_case("select") {
            return field.select_by_value(value).await;
        }
        // Dates and long texts are set as the page's own script would: typing into a
        // date input depends on the browser's locale.
        self.client
            .execute(
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                vec![serde_json::to_value(field).unwrap(), value.into()],
            )
            .await?;
        Ok(())
    }

    async fn set(&self, form: &str, name: &str, value: &str) -> Step {
        self.set_nth(form, name, 0, value).await
    }

    async fn fill(&self, form: &str, fields: &[(&str, &str)]) -> Step {
        for (name, value) in fields {
            self.set(form, name, value).await?;
        }
        Ok(())
    }

    /// Ticks (or unticks) the checkbox `name=value` of `form`.
    async fn tick(&self, form: &str, name: &str, value: &str, on: bool) -> Step {
        let checkbox = self
            .client
            .find(Locator::Css(&format!(
                "{form} input[name=\"{name}\"][value=\"{value}\"]"
            )))
            .await?;
        if checkbox.is_selected().await? != on {
            checkbox.click().await?;
        }
        Ok(())
    }

    async fn attach(&self, form: &str, path: &std::path::Path) -> Step {
        self.client
            .find(Locator::Css(&format!("{form} input[type=file]")))
            .await?
            .send_keys(&path.display().to_string())
            .await
    }

    /// Presses the submit button of `form` (the one labelled `label`, if given) and waits
    /// for the page the server answers with.
    async fn press(&self, form: &str, label: Option<&str>) -> Step {
        let buttons = self
            .client
            .find_all(Locator::Css(&format!("{form} button[type=submit]")))
            .await?;
        let mut chosen = None;
        for button in buttons {
            if label.is_none() || Some(button.text().await?.trim()) == label {
                chosen = Some(button);
                break;
            }
        }
        let button = chosen.unwrap_or_else(|| panic!("{form} has no submit button {label:?}"));
        self.client
            .execute("window.__datahall_old_page = true;", vec![])
            .await?;
        button.click().await?;
        for _ in 0..400 {
            let fresh = self
                .client
                .execute(
                    "return window.__datahall_old_page === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if fresh.is_ok_and(|v| v == serde_json::Value::Bool(true)) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("pressing {form} {label:?} did not load a page in 10 s");
    }

    /// Signs in afresh as `username` (demo password).
    async fn sign_in(&self, username: &str) -> Step {
        self.open("/login").await?;
        self.client.delete_all_cookies().await?;
        self.open("/login").await?;
        let form = "form[action=\"/login\"]";
        self.fill(
            form,
            &[("username", username), ("password", "demo-password")],
        )
        .await?;
        self.press(form, None).await?;
        assert_eq!(self.path().await?, "/", "{username} signed in");
        Ok(())
    }

    async fn shot(&self, name: &str) -> Step {
        let n = self.taken.get() + 1;
        self.taken.set(n);
        let png = self.client.screenshot().await?;
        std::fs::write(self.shots.join(format!("forms-{n:02}-{name}.png")), png).ok();
        Ok(())
    }

    /// The messages shown next to the fields of `form`.
    async fn field_errors(&self, form: &str) -> Step<String> {
        let mut text = String::new();
        for e in self
            .client
            .find_all(Locator::Css(&format!("{form} .field-error")))
            .await?
        {
            text.push_str(&e.text().await?);
            text.push('\n');
        }
        Ok(text)
    }
}

/// A valid 18-digit ID number (GB 11643 check digit) for test person `n`.
fn id_number(n: u32) -> String {
    let body = format!("34100219900101{n:03}");
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

fn date_in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// The number a notice names after `word` ("申请 12 已提交" → 12): the first place
/// `word` is followed by a number.
fn number_after(text: &str, word: &str) -> i64 {
    text.match_indices(word)
        .find_map(|(at, _)| {
            let digits: String = text[at + word.len()..]
                .trim_start_matches(' ')
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .unwrap_or_else(|| panic!("no number after “{word}” in: {text}"))
}

#[tokio::test]
async fn every_form_works_in_a_real_browser() {
    let Some(browsers) = support::browsers("form journeys in the browser") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("forms.db").display());
    // Department sources may be on this machine (the test's MariaDB); the platform's own
    // address stays forbidden whatever the networks allowed.
    let server =
        support::serve_demo(&database, &[("DATAHALL_SOURCE_NETWORKS", "127.0.0.1/32")]).await;
    let session = support::open_session(&browsers, &dir.path().join("chromium-profile")).await;
    let shots = support::screenshot_dir();
    // Screenshots of an earlier run would read as this run's.
    for old in std::fs::read_dir(&shots).into_iter().flatten().flatten() {
        if old.file_name().to_string_lossy().starts_with("forms-") {
            std::fs::remove_file(old.path()).ok();
        }
    }
    let hall = Hall {
        client: &session.client,
        base: server.base.clone(),
        shots,
        taken: Default::default(),
    };
    let source_db = testkit::mysql_database().await;
    let result = journeys(&hall, dir.path(), server.port, source_db.as_ref()).await;
    if let Err(error) = &result {
        hall.shot("failure").await.ok();
        eprintln!("failed at {:?}: {error}", hall.url().await.ok());
        eprintln!("page: {}", hall.text().await.unwrap_or_default());
    }
    let _ = session.client.clone().close().await;
    result.unwrap();
}

async fn journeys(
    hall: &Hall<'_>,
    dir: &std::path::Path,
    port: u16,
    source_db: Option<&testkit::MySqlDatabase>,
) -> Step {
    sign_in_and_out(hall).await?;
    let code = catalogue_workflow(hall).await?;
    catalogue_import(hall, dir).await?;
    collection(hall, dir, &code, port, source_db).await?;
    let request = sharing(hall, &code).await?;
    objections(hall, &code).await?;
    needs(hall).await?;
    application_reads(hall, code.as_str()).await?;
    personal_access_report(hall).await?;
    revocation(hall, request).await?;
    tokens_and_delegation(hall).await?;
    departments_and_people(hall).await?;
    audit_and_error_pages(hall).await?;
    retirement(hall, &code).await?;
    Ok(())
}

/// 登录 refused keeps the name typed; 退出 ends the session.
async fn sign_in_and_out(hall: &Hall<'_>) -> Step {
    hall.open("/login").await?;
    let login = "form[action=\"/login\"]";
    hall.fill(
        login,
        &[("username", "gaj-staff"), ("password", "wrong-password")],
    )
    .await?;
    hall.press(login, None).await?;
    assert_eq!(hall.path().await?, "/login");
    assert!(hall.text().await?.contains("用户名或密码错误"));
    assert_eq!(
        hall.value_of("#username").await?,
        "gaj-staff",
        "the name is kept"
    );
    assert_eq!(hall.value_of("#password").await?, "", "the password is not");
    hall.shot("login-refused").await?;

    hall.sign_in("gaj-staff").await?;
    assert_eq!(hall.heading().await?, "我的待办");
    hall.press("form[action=\"/logout\"]", None).await?;
    hall.open("/catalogue").await?;
    assert_eq!(
        hall.path().await?,
        "/login",
        "signed out: pages need a session"
    );
    Ok(())
}

/// 编制目录 (refused, then saved), 修改, 提交, 退回, 签发, 发布: returns the entry's code.
async fn catalogue_workflow(hall: &Hall<'_>) -> Step<String> {
    hall.sign_in("gaj-staff").await?;
    hall.open("/catalogue/new").await?;
    let editor = "form[action=\"/catalogue/new\"]";
    hall.fill(
        editor,
        &[
            ("name", "低保家庭核对信息（浏览器）"),
            ("summary", "低保家庭成员的身份与收入，用于核对"),
            ("share_type", "conditional"),
            ("security_grade", "important"),
        ],
    )
    .await?;
    let rows: [[&str; 4]; 3] = [
        ["公民身份号码", "id_number", "C", "18"],
        ["姓名", "person_name", "C", "50"],
        ["家庭月收入", "income", "N", "12"],
    ];
    for (row, [name, identifier, data_type, length]) in rows.iter().enumerate() {
        hall.set_nth(editor, "item_name", row, name).await?;
        hall.set_nth(editor, "item_identifier", row, identifier)
            .await?;
        hall.set_nth(editor, "item_type", row, data_type).await?;
        hall.set_nth(editor, "item_length", row, length).await?;
        hall.set_nth(editor, "item_required", row, "是").await?;
    }
    hall.set_nth(editor, "item_key", 0, "是").await?;
    hall.set_nth(editor, "item_rule", 0, "id_card").await?;
    hall.set_nth(editor, "item_personal", 0, "是").await?;
    hall.set_nth(editor, "item_personal", 1, "是").await?;
    hall.set_nth(editor, "item_share", 2, "not_shared").await?;
    // Refused: a conditional entry needs its conditions.
    hall.press(editor, None).await?;
    assert_eq!(hall.heading().await?, "编制目录");
    let errors = hall.field_errors(editor).await?;
    assert!(
        errors.contains("有条件共享的资源必须填写共享条件"),
        "{errors}"
    );
    assert_eq!(
        hall.value_of(&format!("{editor} [name=name]")).await?,
        "低保家庭核对信息（浏览器）"
    );
    assert_eq!(
        hall.value_of(&format!("{editor} [name=item_identifier]"))
            .await?,
        "id_number",
        "the items typed are kept"
    );
    hall.shot("editor-refused").await?;

    hall.set(editor, "conditions", "用于低保家庭经济状况核对")
        .await?;
    hall.press(editor, None).await?;
    let path = hall.path().await?;
    assert!(path.starts_with("/catalogue/"), "{path}");
    let code = path.trim_start_matches("/catalogue/").to_string();
    assert_eq!(hall.heading().await?, "低保家庭核对信息（浏览器）");
    assert!(hall.text().await?.contains("已保存草稿"));

    // 修改
    hall.open(&format!("/catalogue/{code}/edit")).await?;
    let edit = format!("form[action=\"/catalogue/{code}/edit\"]");
    hall.set(
        &edit,
        "summary",
        "低保家庭成员的身份与月收入，用于经济状况核对",
    )
    .await?;
    hall.press(&edit, None).await?;
    let text = hall.text().await?;
    assert!(
        text.contains("已保存修改") && text.contains("用于经济状况核对"),
        "{text}"
    );

    let workflow = |action: &str| {
        format!("form[action=\"/catalogue/{code}/workflow\"]:has(input[value=\"{action}\"])")
    };
    hall.press(&workflow("submit"), None).await?;
    assert!(hall.text().await?.contains("已提交，目录现为“待签发”"));

    // The chief returns it with a reason, the staff submit again, the chief signs.
    hall.sign_in("gaj-chief").await?;
    hall.open(&format!("/catalogue/{code}")).await?;
    hall.set(&workflow("reject"), "reason", "请补充信息项的代码表")
        .await?;
    hall.press(&workflow("reject"), None).await?;
    let text = hall.text().await?;
    assert!(
        text.contains("目录现为“已退回”") && text.contains("请补充信息项的代码表"),
        "{text}"
    );
    hall.sign_in("gaj-staff").await?;
    hall.open(&format!("/catalogue/{code}")).await?;
    hall.press(&workflow("submit"), None).await?;
    hall.sign_in("gaj-chief").await?;
    hall.open("/review").await?;
    assert!(
        hall.text().await?.contains("低保家庭核对信息（浏览器）"),
        "in the chief's queue"
    );
    hall.open(&format!("/catalogue/{code}")).await?;
    hall.press(&workflow("sign"), None).await?;
    assert!(hall.text().await?.contains("目录现为“待审核”"));

    hall.sign_in("admin").await?;
    hall.open(&format!("/catalogue/{code}")).await?;
    hall.press(&workflow("publish"), None).await?;
    assert!(hall.text().await?.contains("目录现为“已发布”"));
    hall.shot("entry-published").await?;
    Ok(code)
}

/// 导入目录模板: a file that is no workbook is refused next to the file field; the
/// department's own template, downloaded from the page, comes back as new drafts.
async fn catalogue_import(hall: &Hall<'_>, dir: &std::path::Path) -> Step {
    hall.sign_in("gaj-staff").await?;
    hall.open("/catalogue/import").await?;
    let import = "#import";
    let not_a_workbook = dir.join("目录.xlsx");
    std::fs::write(&not_a_workbook, "这不是 Excel 文件").unwrap();
    hall.tick(import, "partial", "true", true).await?;
    hall.attach(import, &not_a_workbook).await?;
    hall.press(import, None).await?;
    assert!(
        !hall.field_errors(import).await?.trim().is_empty(),
        "the file's message is next to it"
    );
    assert!(
        hall.client
            .find(Locator::Css("#import input[name=partial]"))
            .await?
            .is_selected()
            .await?,
        "the choice is kept"
    );
    hall.shot("import-refused").await?;

    // The template with the department's entries, as the page's link downloads it.
    let bytes = hall
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/catalogue/template.xlsx').then(r => r.arrayBuffer())
                 .then(b => done(Array.from(new Uint8Array(b))));",
            vec![],
        )
        .await?;
    let bytes: Vec<u8> = serde_json::from_value(bytes).unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX workbook");
    let template = dir.join("公安局目录.xlsx");
    std::fs::write(&template, bytes).unwrap();
    // It lists the whole visible catalogue: the department's own entries come back as
    // drafts, the other departments' rows are skipped with their problems listed.
    hall.open("/catalogue/import").await?;
    hall.tick(import, "partial", "true", true).await?;
    hall.attach(import, &template).await?;
    hall.press(import, None).await?;
    let text = hall.text().await?;
    let imported = number_after(&text, "已导入");
    assert!(
        imported > 0 && text.contains("条目录（草稿），跳过有问题的"),
        "{text}"
    );
    assert!(hall
        .text_of("#problems")
        .await?
        .contains("部门类资源的项应为提供方的目录编号"));
    hall.shot("import-done").await?;
    Ok(())
}

/// 停用 of a published entry by the bureau.
async fn retirement(hall: &Hall<'_>, code: &str) -> Step {
    hall.sign_in("admin").await?;
    hall.open(&format!("/catalogue/{code}")).await?;
    hall.press(
        &format!("form[action=\"/catalogue/{code}/workflow\"]:has(input[value=\"retire\"])"),
        None,
    )
    .await?;
    assert!(hall.text().await?.contains("目录现为“已停用”"));
    Ok(())
}

/// 上传并归集 (refused mapping, then a file with one bad row), 登记数据源 (refused: the
/// platform's own address; then a real MariaDB) and 立即抽取.
async fn collection(
    hall: &Hall<'_>,
    dir: &std::path::Path,
    code: &str,
    port: u16,
    source_db: Option<&testkit::MySqlDatabase>,
) -> Step {
    hall.sign_in("gaj-staff").await?;
    hall.open(&format!("/catalogue/{code}/upload")).await?;
    let upload = "#upload";
    let csv = dir.join("低保家庭.csv");
    std::fs::write(
        &csv,
        format!(
            "公民身份号码,姓名,家庭月收入\n{},张三,1200\n{},李四,980\n341002199001019999,王五,abc\n",
            id_number(1),
            id_number(2)
        ),
    )
    .unwrap();
    hall.set(upload, "encoding", "utf8").await?;
    hall.set(upload, "mapping", "这一行没有等号").await?;
    hall.attach(upload, &csv).await?;
    hall.press(upload, None).await?;
    let errors = hall.field_errors(upload).await?;
    assert!(
        !errors.trim().is_empty(),
        "the mapping's message is next to it"
    );
    assert_eq!(
        hall.value_of("#upload [name=mapping]").await?,
        "这一行没有等号"
    );
    assert_eq!(hall.value_of("#upload [name=encoding]").await?, "utf8");
    hall.shot("upload-refused").await?;

    hall.set(upload, "mapping", "").await?;
    hall.attach(upload, &csv).await?;
    hall.press(upload, None).await?;
    let text = hall.text().await?;
    assert!(text.contains("收到 3 行，入库 2 行，隔离 1 行"), "{text}");
    let quarantine = hall.text_of("#quarantine").await?;
    assert!(
        quarantine.contains("公民身份号码"),
        "the bad row is named: {quarantine}"
    );
    hall.shot("upload-done").await?;

    // Sources: the platform itself is refused, with the URL not shown back.
    hall.client
        .find(Locator::Css("details summary"))
        .await?
        .click()
        .await?;
    let source = "#add-source";
    let own = format!("mysql://root@127.0.0.1:{port}/datahall");
    hall.fill(
        source,
        &[("name", "低保系统库"), ("url", &own), ("query", "families")],
    )
    .await?;
    hall.press(source, None).await?;
    let errors = hall.field_errors(source).await?;
    assert!(
        errors.contains("不能连接平台自身的数据库或服务"),
        "{errors}"
    );
    assert_eq!(
        hall.value_of("#add-source [name=name]").await?,
        "低保系统库"
    );
    assert_eq!(hall.value_of("#add-source [name=query]").await?, "families");
    assert_eq!(
        hall.value_of("#add-source [name=url]").await?,
        "",
        "credentials are not echoed"
    );
    assert!(!hall.client.source().await?.contains(&own));
    hall.shot("source-refused").await?;

    let Some(database) = source_db else {
        testkit::announce("SKIPPED the source-database step of the form journeys: DATAHALL_TEST_MYSQL_URL is not set");
        return Ok(());
    };
    use sqlx::Connection;
    let mut conn = sqlx::MySqlConnection::connect(&database.url).await.unwrap();
    sqlx::query("CREATE TABLE families (id_number VARCHAR(18) PRIMARY KEY, person_name VARCHAR(50), income DECIMAL(12,2))")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!(
        "INSERT INTO families VALUES ('{}', '张三', 1300), ('{}', '赵六', 760)",
        id_number(1),
        id_number(3)
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    hall.fill(
        source,
        &[
            ("name", "低保系统库"),
            ("url", &database.url),
            ("query", "families"),
            ("mode", "full"),
        ],
    )
    .await?;
    hall.press(source, None).await?;
    assert!(hall.text().await?.contains("已保存数据源“低保系统库”"));
    let run = "form[action^=\"/sources/\"][action$=\"/run\"]";
    hall.press(run, None).await?;
    let text = hall.text().await?;
    assert!(
        text.contains("抽取完成") && text.contains("收到 2 行，入库 2 行"),
        "{text}"
    );
    hall.shot("source-pulled").await?;
    Ok(())
}

/// 申请共享 (refused date, then filed with an item in clear), 申请复核 of the item not
/// shared, 同意 (refused with no item, then by the chief), 复核 by the bureau, 申请续期.
/// Returns the approved request's number.
async fn sharing(hall: &Hall<'_>, code: &str) -> Step<i64> {
    hall.sign_in("rsj-staff").await?;
    hall.open(&format!("/catalogue/{code}/apply")).await?;
    let apply = "#apply";
    hall.fill(
        apply,
        &[
            ("purpose", "低保资格复核"),
            ("legal_basis", "《社会救助暂行办法》第十一条"),
            ("application", "低保审批系统"),
            ("valid_until", &date_in_days(-1)),
        ],
    )
    .await?;
    hall.tick(apply, "clear_items", "id_number", true).await?;
    hall.press(apply, None).await?;
    let errors = hall.field_errors(apply).await?;
    assert!(errors.contains("有效期须晚于今天"), "{errors}");
    assert_eq!(
        hall.value_of("#apply [name=purpose]").await?,
        "低保资格复核"
    );
    assert!(
        hall.client
            .find(Locator::Css(
                "#apply input[name=clear_items][value=id_number]"
            ))
            .await?
            .is_selected()
            .await?,
        "the ticks are kept"
    );
    hall.shot("apply-refused").await?;
    hall.set(apply, "valid_until", &date_in_days(365)).await?;
    hall.press(apply, None).await?;
    assert_eq!(hall.path().await?, "/sharing");
    let text = hall.text().await?;
    let request = number_after(&text, "申请");
    assert!(
        text.contains("已提交：待审核"),
        "clear personal data waits for the provider: {text}"
    );

    hall.open(&format!("/catalogue/{code}/apply")).await?;
    let review = "#review-basis";
    hall.tick(review, "review_items", "income", true).await?;
    hall.set(
        review,
        "reason",
        "核对家庭经济状况需要月收入，依据《社会救助暂行办法》",
    )
    .await?;
    hall.press(review, None).await?;
    let text = hall.text().await?;
    let review_id = number_after(&text, "复核申请");
    assert!(text.contains("已提交管理方"), "{text}");

    // The staff of the provider may not decide a request for clear personal data.
    hall.sign_in("gaj-staff").await?;
    hall.open("/sharing").await?;
    let decision = format!("form[action=\"/sharing/{request}/decision\"]");
    assert!(
        hall.client
            .find_all(Locator::Css(&decision))
            .await?
            .is_empty(),
        "no decision form for the staff"
    );
    supervise_and_work_the_queue(hall, request).await?;
    let approve = format!("{decision}:has(input[value=approve])");
    for item in ["id_number", "person_name", "income"] {
        if hall
            .client
            .find_all(Locator::Css(&format!(
                "{approve} input[name=items][value={item}]"
            )))
            .await?
            .len()
            == 1
        {
            hall.tick(&approve, "items", item, false).await?;
        }
    }
    hall.press(&approve, Some("同意")).await?;
    let errors = hall.field_errors(&approve).await?;
    assert!(
        errors.contains("请至少选择一个同意提供的信息项"),
        "{errors}"
    );
    hall.shot("decide-refused").await?;
    hall.tick(&approve, "items", "id_number", true).await?;
    hall.tick(&approve, "items", "person_name", true).await?;
    hall.tick(&approve, "clear_items", "id_number", true)
        .await?;
    hall.press(&approve, Some("同意")).await?;
    let text = hall.text().await?;
    assert!(
        text.contains(&format!("申请 {request} 已处理：已授权")),
        "{text}"
    );
    assert!(hall
        .text_of(&format!("#request-{request}"))
        .await?
        .contains("已授权"));

    hall.sign_in("admin").await?;
    hall.open("/sharing").await?;
    let decide_review = format!("form[action=\"/basis-reviews/{review_id}/decision\"]");
    hall.fill(
        &decide_review,
        &[
            ("answer", "依据《个人信息保护法》第十三条，维持"),
            ("decision", "uphold"),
        ],
    )
    .await?;
    hall.press(&decide_review, None).await?;
    let text = hall.text().await?;
    assert!(
        text.contains(&format!("复核 {review_id}：维持不予共享")),
        "{text}"
    );

    hall.sign_in("rsj-staff").await?;
    hall.open("/sharing").await?;
    let renew = format!("form[action=\"/sharing/{request}/renew\"]");
    hall.press(&renew, None).await?;
    let text = hall.text().await?;
    assert!(text.contains("已提交续期申请"), "{text}");
    hall.shot("renewed").await?;
    Ok(request)
}

/// The bureau filters the hall to the provider's decisions and urges (督办) the one on
/// `request`; the provider's chief sees the bell, reads and clears the notification, and
/// goes from the queue item to the request's row on the sharing page.
async fn supervise_and_work_the_queue(hall: &Hall<'_>, request: i64) -> Step {
    hall.sign_in("admin").await?;
    let mut gaj = None;
    for option in hall
        .client
        .find_all(Locator::Css("#task-filters select[name=department] option"))
        .await?
    {
        if option.text().await?.trim() == "市公安局" {
            gaj = option.attr("value").await?;
        }
    }
    let filters = "#task-filters";
    hall.set(
        filters,
        "department",
        &gaj.expect("the provider is a filter choice"),
    )
    .await?;
    hall.set(filters, "kind", "department_decision").await?;
    hall.press(filters, None).await?;
    let label = format!("共享申请 {request}");
    let mut row = None;
    for candidate in hall.client.find_all(Locator::Css("#tasks tr")).await? {
        if candidate.text().await?.contains(&label) {
            row = candidate.attr("id").await?;
        }
    }
    let row = row.unwrap_or_else(|| panic!("{label} is in the provider's queue"));
    let duty = row.trim_start_matches("task-");
    let urge = format!("form[action=\"/tasks/{duty}/urge\"]");
    hall.set(&urge, "note", "请于本周内完成审核").await?;
    hall.press(&urge, None).await?;
    let text = hall.text().await?;
    assert!(
        text.contains(&format!("已督办：部门受理审批（{label}）")),
        "{text}"
    );
    assert!(hall
        .text_of(&format!("#{row}"))
        .await?
        .contains("已督办 1 次：请于本周内完成审核"));
    hall.shot("hall-supervision").await?;

    hall.sign_in("gaj-chief").await?;
    let bell = hall.text_of("#bell").await?;
    assert!(
        bell.starts_with("通知 ") && bell != "通知 0",
        "unread shown on the bell: {bell}"
    );
    hall.shot("hall-queue").await?;
    hall.open("/notifications").await?;
    assert!(hall
        .text_of("#notifications")
        .await?
        .contains("督办：部门受理审批"));
    hall.press("#read-all", None).await?;
    assert_eq!(hall.path().await?, "/notifications");
    assert!(hall.text().await?.contains("条通知标为已读"));
    assert_eq!(hall.text_of("#bell").await?, "通知", "nothing unread");
    hall.open("/").await?;
    let link = hall
        .client
        .find(Locator::Css(&format!(
            "#{row} a[href=\"/sharing#request-{request}\"]"
        )))
        .await?;
    link.click().await?;
    for _ in 0..200 {
        if hall.path().await? == "/sharing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        hall.path().await?,
        "/sharing",
        "the queue item leads to the matter"
    );
    assert_eq!(
        hall.url().await?.fragment(),
        Some(format!("request-{request}").as_str())
    );
    Ok(())
}

/// 提出异议 (refused description, then raised), 受理, 已更正.
async fn objections(hall: &Hall<'_>, code: &str) -> Step {
    hall.sign_in("rsj-staff").await?;
    hall.open("/objections").await?;
    let raise = "#raise-objection";
    // Person 1 is in the data whether or not the source pull (a full pull) ran.
    let key = id_number(1);
    hall.fill(
        raise,
        &[
            ("resource", code),
            ("key", &key),
            ("items", "姓名"),
            ("description", "错"),
        ],
    )
    .await?;
    hall.press(raise, None).await?;
    let errors = hall.field_errors(raise).await?;
    assert!(errors.contains("请说明错误之处"), "{errors}");
    assert_eq!(hall.value_of("#raise-objection [name=key]").await?, key);
    hall.shot("objection-refused").await?;
    hall.set(raise, "description", "姓名应为李思，与户籍不符")
        .await?;
    hall.press(raise, None).await?;
    let text = hall.text().await?;
    let id = number_after(&text, "异议");
    assert!(text.contains("已提出"), "{text}");

    hall.sign_in("gaj-staff").await?;
    hall.open("/objections").await?;
    let answer = format!("form[action=\"/objections/{id}/answer\"]");
    hall.set(&answer, "step", "accept").await?;
    hall.press(&answer, None).await?;
    assert!(hall
        .text_of(&format!("#objection-{id}"))
        .await?
        .contains("异议中"));
    hall.fill(
        &answer,
        &[("step", "correct"), ("answer", "已按户籍更正姓名")],
    )
    .await?;
    hall.press(&answer, None).await?;
    let row = hall.text_of(&format!("#objection-{id}")).await?;
    assert!(
        row.contains("已更正") && row.contains("已按户籍更正姓名"),
        "{row}"
    );
    Ok(())
}

/// 提出需求, 分派, 已编目 (refused code), 不能提供.
async fn needs(hall: &Hall<'_>) -> Step {
    hall.sign_in("rsj-staff").await?;
    hall.open("/needs").await?;
    let post = "#post-need";
    hall.fill(
        post,
        &[
            ("title", "残疾人两项补贴发放信息"),
            ("description", "用于社保待遇比对，依据《残疾人保障法》"),
        ],
    )
    .await?;
    hall.press(post, None).await?;
    let text = hall.text().await?;
    let id = number_after(&text, "需求");
    assert!(text.contains("已提出，待管理方分派"), "{text}");

    hall.sign_in("admin").await?;
    hall.open("/needs").await?;
    let assign = format!("form[action=\"/needs/{id}/assign\"]");
    let gaj = hall
        .client
        .find(Locator::XPath(&format!(
            "//form[@action='/needs/{id}/assign']//option[contains(., '公安')]"
        )))
        .await?
        .attr("value")
        .await?
        .expect("an option value");
    hall.set(&assign, "department_id", &gaj).await?;
    hall.press(&assign, None).await?;
    assert!(hall
        .text_of(&format!("#need-{id}"))
        .await?
        .contains("待响应"));

    hall.sign_in("gaj-chief").await?;
    hall.open("/needs").await?;
    let answer = format!("form[action=\"/needs/{id}/answer\"]");
    hall.set(&answer, "resource", "不是代码").await?;
    hall.press(&answer, Some("已编目")).await?;
    assert_eq!(
        hall.value_of(&format!("{answer} [name=resource]")).await?,
        "不是代码",
        "the code typed is kept"
    );
    let row = hall.text_of(&format!("#need-{id}")).await?;
    assert!(
        row.contains("不是代码不存在") && row.contains("待响应"),
        "{row}"
    );
    hall.shot("need-refused").await?;
    hall.set(&answer, "reason", "本局不掌握该数据，建议向市残联提出")
        .await?;
    hall.press(&answer, Some("不能提供")).await?;
    let row = hall.text_of(&format!("#need-{id}")).await?;
    assert!(row.contains("不能提供") && row.contains("市残联"), "{row}");
    Ok(())
}

/// The consumer's chief issues the application's token on the page; the application
/// reads a record of person 1 through the data API under the grant.
async fn application_reads(hall: &Hall<'_>, code: &str) -> Step {
    hall.sign_in("rsj-chief").await?;
    hall.open("/tokens").await?;
    hall.set("#issue-token", "application", "低保审批系统")
        .await?;
    hall.press("#issue-token", None).await?;
    let shown = hall.text_of("#new-token").await?;
    let secret = shown
        .split_whitespace()
        .find(|w| w.starts_with("dhapp_"))
        .expect("the secret is shown")
        .to_string();
    let client: hyper_util::client::legacy::Client<_, String> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let request = axum::http::Request::get(format!(
        "{}/api/v1/data/{code}/records/{}",
        hall.base,
        id_number(1)
    ))
    .header("authorization", format!("Bearer {secret}"))
    .body(String::new())
    .unwrap();
    let answer = client.request(request).await.expect("the data API answers");
    assert_eq!(
        answer.status(),
        200,
        "the application reads under its grant"
    );
    Ok(())
}

/// 个人信息查询记录: the auditor asks by ID number (a malformed one is refused next to
/// the field) and sees who read person 1's record, and for what.
async fn personal_access_report(hall: &Hall<'_>) -> Step {
    hall.sign_in("auditor").await?;
    hall.open("/audit/personal").await?;
    let form = "#personal";
    hall.fill(
        form,
        &[
            ("id_number", "34100219900101"),
            ("reason", "市民本人来电申请查询，工单 2026-0153"),
        ],
    )
    .await?;
    hall.press(form, None).await?;
    let errors = hall.field_errors(form).await?;
    assert!(errors.contains("身份证号码无效"), "{errors}");
    assert_eq!(
        hall.value_of("#personal [name=id_number]").await?,
        "34100219900101"
    );
    assert_eq!(
        hall.value_of("#personal [name=reason]").await?,
        "市民本人来电申请查询，工单 2026-0153",
        "the reason is kept"
    );
    hall.set(form, "id_number", &id_number(1)).await?;
    hall.press(form, None).await?;
    assert_eq!(
        hall.path().await?,
        "/audit/personal",
        "the number is not in the URL"
    );
    let report = hall.text_of("#personal-access").await?;
    assert!(
        report.contains("市人力资源和社会保障局")
            && report.contains("低保审批系统")
            && report.contains("低保资格复核"),
        "{report}"
    );
    hall.shot("personal-access").await?;
    Ok(())
}

/// 撤销授权 by the provider's chief.
async fn revocation(hall: &Hall<'_>, request: i64) -> Step {
    hall.sign_in("gaj-chief").await?;
    hall.open("/sharing").await?;
    let revoke = format!("form[action=\"/sharing/{request}/revoke\"]");
    hall.set(&revoke, "reason", "低保复核工作已结束").await?;
    hall.press(&revoke, None).await?;
    let text = hall.text().await?;
    assert!(
        text.contains(&format!("申请 {request} 的授权已撤销")),
        "{text}"
    );
    assert!(!hall
        .text_of(&format!("#request-{request}"))
        .await?
        .contains("已授权"));
    Ok(())
}

/// 签发应用令牌 (refused date, then shown once), 吊销, 授权审批.
async fn tokens_and_delegation(hall: &Hall<'_>) -> Step {
    hall.sign_in("gaj-chief").await?;
    hall.open("/tokens").await?;
    let issue = "#issue-token";
    hall.fill(
        issue,
        &[
            ("application", "人口核验系统"),
            ("expires_on", &date_in_days(-3)),
        ],
    )
    .await?;
    hall.press(issue, None).await?;
    let errors = hall.field_errors(issue).await?;
    assert!(errors.contains("有效期应晚于今天"), "{errors}");
    assert_eq!(
        hall.value_of("#issue-token [name=application]").await?,
        "人口核验系统"
    );
    hall.set(issue, "expires_on", &date_in_days(180)).await?;
    hall.press(issue, None).await?;
    let shown = hall.text_of("#new-token").await?;
    let secret = shown
        .split_whitespace()
        .find(|w| w.starts_with("dhapp_"))
        .unwrap_or_else(|| panic!("the secret is shown once: {shown}"))
        .to_string();
    let id = number_after(&hall.text().await?, "签发令牌");
    hall.shot("token-issued").await?;
    hall.open("/tokens").await?;
    assert!(
        !hall.client.source().await?.contains(&secret),
        "the secret is never shown again"
    );
    hall.press(&format!("form[action=\"/tokens/{id}/revoke\"]"), None)
        .await?;
    assert!(hall
        .text_of(&format!("#token-{id}"))
        .await?
        .contains("已吊销"));

    hall.open("/admin/users").await?;
    assert_eq!(hall.heading().await?, "本部门人员");
    let delegate = "form[action=\"/admin/users/gaj-staff/delegate\"]";
    hall.press(delegate, None).await?;
    assert!(hall.text().await?.contains("gaj-staff 可代首席代表审批"));
    assert!(hall.text_of("#user-gaj-staff").await?.contains("受托审批"));
    Ok(())
}

/// 新增部门 (refused credit code, then added), 新增人员 (refused password), 任命, 停用.
async fn departments_and_people(hall: &Hall<'_>) -> Step {
    hall.sign_in("admin").await?;
    hall.open("/admin/departments").await?;
    let department = "#new-department";
    hall.fill(
        department,
        &[
            ("name", "市粮食和物资储备局"),
            ("code", "lsj"),
            ("credit_code", "123"),
            ("region_code", "341000"),
        ],
    )
    .await?;
    hall.press(department, None).await?;
    let errors = hall.field_errors(department).await?;
    assert!(
        !errors.trim().is_empty(),
        "the credit code's message is next to it"
    );
    assert_eq!(
        hall.value_of("#new-department [name=name]").await?,
        "市粮食和物资储备局"
    );
    assert!(
        !hall.text().await?.contains("credit_code"),
        "no English field names"
    );
    hall.shot("department-refused").await?;
    let credit_code = testkit::fixtures::credit_code(907);
    hall.set(department, "credit_code", credit_code.as_str())
        .await?;
    hall.press(department, None).await?;
    assert!(hall.text().await?.contains("已新增部门 市粮食和物资储备局"));
    assert!(hall
        .text_of("#departments")
        .await?
        .contains("市粮食和物资储备局"));

    hall.open("/admin/users").await?;
    let lsj = hall
        .client
        .find(Locator::XPath(
            "//form[@id='new-user']//option[contains(., '粮食')]",
        ))
        .await?
        .attr("value")
        .await?
        .expect("an option value");
    let new_user = "#new-user";
    hall.fill(
        new_user,
        &[
            ("username", "lsj-staff"),
            ("display_name", "孙七"),
            ("password", "短"),
            ("role", "staff"),
            ("department_id", &lsj),
        ],
    )
    .await?;
    hall.press(new_user, None).await?;
    let errors = hall.field_errors(new_user).await?;
    assert!(
        !errors.trim().is_empty(),
        "the password's message is next to it"
    );
    assert_eq!(
        hall.value_of("#new-user [name=username]").await?,
        "lsj-staff"
    );
    assert_eq!(
        hall.value_of("#new-user [name=password]").await?,
        "",
        "passwords are typed again"
    );
    hall.set(new_user, "password", "a-long-enough-password")
        .await?;
    hall.press(new_user, None).await?;
    assert!(hall.text().await?.contains("已新增 孙七（lsj-staff）"));

    let role = "#set-role";
    hall.fill(
        role,
        &[
            ("username", "lsj-staff"),
            ("role", "chief"),
            ("department_id", &lsj),
        ],
    )
    .await?;
    hall.press(role, None).await?;
    assert!(hall.text_of("#user-lsj-staff").await?.contains("首席代表"));

    hall.press("form[action=\"/admin/users/lsj-staff/active\"]", None)
        .await?;
    assert!(hall.text().await?.contains("lsj-staff 已停用"));
    assert!(hall.text_of("#user-lsj-staff").await?.contains("已停用"));
    // The bureau cannot touch the auditor's account (三员分立): no button is offered.
    assert!(hall
        .client
        .find_all(Locator::Css("form[action=\"/admin/users/auditor/active\"]"))
        .await?
        .is_empty());
    hall.shot("people").await?;
    Ok(())
}

/// 立即校验 by the auditor; a 404 and a 403 are pages of the platform with navigation.
async fn audit_and_error_pages(hall: &Hall<'_>) -> Step {
    hall.sign_in("auditor").await?;
    hall.open("/audit").await?;
    hall.press("form[action=\"/audit/verify\"]", None).await?;
    assert_eq!(hall.path().await?, "/audit");
    let text = hall.text().await?;
    assert!(
        text.contains("校验通过") && text.contains("未发现篡改"),
        "{text}"
    );
    hall.shot("audit-verified").await?;

    hall.sign_in("gaj-staff").await?;
    hall.open("/no-such-page").await?;
    assert_eq!(hall.heading().await?, "页面不存在");
    assert!(hall.text_of("nav.side").await?.contains("数据资源目录"));
    hall.open("/audit").await?;
    assert_eq!(hall.heading().await?, "无权操作");
    assert!(hall.text_of("nav.side").await?.contains("数据资源目录"));
    hall.shot("forbidden").await?;
    Ok(())
}
