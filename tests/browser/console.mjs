// The console in headless Chromium (Debian's chromium, driven by playwright-core): a lawyer
// signs in, goes on duty, claims the waiting case, calls back, writes a note, replies by SMS
// and closes the case (playing a part of the caller's recording on the way); display settings
// persist; a supervisor opens the roster and has an import refused; an admin signs the
// supervisor out everywhere and searches the case's audit trail. axe-core checks
// every page (WCAG 2.1 A/AA and best practices) and must find nothing; a screenshot of each step
// goes to $ARTIFACTS. Finally the API's OpenAPI document is validated. Run by the Rust test
// tests/api/browser.rs, which prepares the service and checks what reached the database.
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import SwaggerParser from "@apidevtools/swagger-parser";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const { BASE_URL, LAWYER, SUPERVISOR, ADMIN, PASSWORD, TICKET, ARTIFACTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
page.setDefaultTimeout(15000);
// Anything the Content-Security-Policy refused (an inline style or script the console grew)
// fails the run at the end.
const refused = [];
page.on("console", (message) => {
  if (message.text().includes("Content Security Policy")) refused.push(message.text());
});
let step = 0;
const checked = [];

function fail(message) {
  throw new Error(message);
}

async function expectText(selector, text) {
  const got = await page.locator(selector).first().innerText();
  if (!got.includes(text)) fail(`${selector}: expected “${text}”, got “${got}”`);
}

/** axe on the current page, and a screenshot; any violation fails the run. */
async function audit(name) {
  step += 1;
  await page.screenshot({ path: `${ARTIFACTS}/${String(step).padStart(2, "0")}-${name}.png`, fullPage: true });
  // Evaluated through the DevTools protocol: the page's Content-Security-Policy admits no
  // script but the console's own file, and the check must not weaken it.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document));
  checked.push({ page: name, url: page.url(), violations: result.violations.length, passes: result.passes.length });
  if (result.violations.length > 0) {
    const details = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
    fail(`axe found ${result.violations.length} violation(s) on ${name}:\n${details.join("\n")}`);
  }
}

async function signIn(username) {
  await page.goto(`${BASE_URL}/login`);
  await page.getByLabel("用户名").fill(username);
  await page.getByLabel("密码").fill(PASSWORD);
  await page.getByLabel("密码").press("Enter"); // keyboard only
  await page.waitForURL(`${BASE_URL}/console`);
}

try {
  // Sign-in page, and keyboard access: the first Tab reaches the skip link.
  await page.goto(`${BASE_URL}/login`);
  await audit("login");
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement.textContent);
  if (first !== "跳到主要内容") fail(`first Tab focused “${first}”`);
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  if (outline === "none") fail("the focused skip link shows no outline");

  await signIn(LAWYER);
  await audit("desk-off-duty");

  await page.getByRole("button", { name: "开始值班" }).click();
  await expectText("#status", "您已开始值班");
  await audit("desk-on-duty");

  await page.getByRole("button", { name: "领取下一个案件" }).click();
  await page.waitForURL(`${BASE_URL}/console/cases/${TICKET}?**`);
  await expectText("#status", "已为您保留这个案件");
  await audit("case-claimed");

  // The recording's player: its source answers a byte range with the session's cookie.
  await expectText("main", "问题描述录音");
  const src = await page.locator("audio").first().getAttribute("src");
  const [status, range] = await page.evaluate(async (src) => {
    const r = await fetch(src, { headers: { Range: "bytes=0-43" } });
    return [r.status, r.headers.get("content-range")];
  }, src);
  if (status !== 206 || !range.startsWith("bytes 0-43/")) fail(`recording range: ${status} ${range}`);

  await page.getByRole("button", { name: "回拨来电人" }).click();
  await expectText("#status", "正在回拨");
  await expectText("main", "正在呼叫律师");

  await page.getByLabel("新备注").fill("来电人被拖欠三个月工资，已建议申请劳动仲裁。");
  await page.getByRole("button", { name: "保存备注" }).click();
  await expectText("#status", "备注已保存");
  await expectText("main", "已建议申请劳动仲裁");

  await page.getByLabel("回复短信").fill("您好，我是值班律师，请把劳动合同和工资条拍照发给我。");
  await page.waitForFunction(() => document.getElementById("reply-count").textContent.includes("将分 1 条"));
  await audit("case-sms-draft");
  await page.getByRole("button", { name: "发送短信" }).click();
  await expectText("#status", "短信已发送");

  await page.getByLabel("劳动争议调解与仲裁代理").check();
  await page.getByLabel("处理结果").fill("已指导来电人申请劳动仲裁。");
  await page.getByRole("button", { name: "结案", exact: true }).click();
  await expectText("#status", "案件已结案");
  await expectText("main", "服务形式：劳动争议调解与仲裁代理");
  await audit("case-closed");

  // Larger text and high contrast, kept across pages and visits.
  await page.getByLabel("文字大小").selectOption("larger");
  await page.getByLabel("对比度").selectOption("high");
  await page.getByRole("button", { name: "保存显示设置" }).click();
  await page.goto(`${BASE_URL}/console`);
  const classes = await page.evaluate(() => document.documentElement.className);
  if (!classes.includes("size-larger") || !classes.includes("contrast-high")) fail(`settings not kept: ${classes}`);
  await audit("desk-high-contrast-larger");

  await page.getByRole("button", { name: "退出登录" }).click();
  await page.waitForURL(`${BASE_URL}/login`);
  await signIn(SUPERVISOR);
  await page.getByRole("link", { name: "排班" }).click();
  await expectText("main", "张明");
  await audit("roster");
  // The example roster has lawyers outside this supervisor's prefecture: refused, the CSV kept.
  const example = readFileSync("config/roster.example.csv", "utf8");
  await page.getByLabel("排班表（CSV，格式见说明文档）").fill(example);
  await page.getByRole("button", { name: "导入", exact: true }).click();
  await expectText("#roster-problems", "王芳");
  const kept = await page.getByLabel("排班表（CSV，格式见说明文档）").inputValue();
  if (kept.trim() !== example.trim()) fail(`the pasted CSV was not kept: ${kept}`);
  await audit("roster-refused");
  await page.goto(`${BASE_URL}/console/cases/${TICKET}`);
  await audit("case-as-supervisor");

  // An admin: the accounts, signing one out everywhere, and the audit trail of the case.
  await page.getByRole("button", { name: "退出登录" }).click();
  await page.waitForURL(`${BASE_URL}/login`);
  await signIn(ADMIN);
  await page.getByRole("link", { name: "账户" }).click();
  await expectText("main", SUPERVISOR);
  await audit("accounts");
  await page.getByRole("button", { name: `（${SUPERVISOR}）在所有地方退出` }).click();
  await expectText("#status", `${SUPERVISOR} 已在所有地方退出`);
  await page.getByLabel("对比度").selectOption("normal");
  await page.getByRole("button", { name: "保存显示设置" }).click();
  await page.getByRole("link", { name: "审计记录" }).click();
  await page.getByLabel("案件编号").fill(TICKET);
  await page.getByRole("button", { name: "查询", exact: true }).click();
  await expectText("main", "结案");
  await expectText("main", "播放录音");
  await audit("audit-search");

  if (refused.length > 0) fail(`the Content-Security-Policy refused:\n${refused.join("\n")}`);

  const doc = await (await fetch(`${BASE_URL}/api/v1/openapi.json`)).json();
  await SwaggerParser.validate(doc);
  console.log(JSON.stringify({ ok: true, pages: checked, openapi: "valid", paths: Object.keys(doc.paths).length }));
} catch (error) {
  await page.screenshot({ path: `${ARTIFACTS}/failure.png`, fullPage: true }).catch(() => {});
  console.error(String(error && error.stack ? error.stack : error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
