// Files a whole report through Microsoft 365 Agents Playground in headless Chromium, as a
// member of staff would in Teams (answering each card by what it asks), then opens the
// leadership channel and presses a case button there. Screenshots go to the
// folder given as the first argument. Run by scripts/playground.sh, which starts the bot and
// the Playground; playwright-core comes from its scratch folder (NODE_PATH).
const { chromium } = require("playwright-core");
const path = require("path");

const PLAYGROUND = process.env.PLAYGROUND_URL || "http://localhost:56150";
const LINK = "https://www.tiktok.com/@fake.head.teacher";
const out = process.argv[2] || "playground-shots";
const STEP_WAIT = 20_000; // ms for the bot's next card

// What a member of staff answers, by what the newest card asks (the first rule that matches).
// The report's questions belong to the engine and change; an unknown one stops the run.
const ANSWERS = [
  ["That's all", ["press", "That's all"]],
  ["Paste the TikTok link", ["type", LINK]],
  ["What kind of harm", ["choose", ["Fake account / impersonating staff or the school", "Harassment or bullying"]]],
  ["immediate danger", ["press", "No"]],
  ["sexual or nude images", ["press", "No"]],
  ["Who is targeted?", ["choose", ["A member of staff"]]],
  ["Which member of staff?", ["type", "Ms J Patel, Head of Year 9"]],
  ["first seen?", ["press", "Today"]],
  ["Report button?", ["press", "Yes"]],
  ["reported in the app?", ["press", "Yesterday"]],
  ["What did TikTok say?", ["choose", ["“No violation” – they left it up"]]],
  ["Do you have screenshots", ["choose", ["Yes, with the link and date showing"]]],
  ["what does it show or say?", ["press", "Skip this question"]],
  ["who is behind it?", ["choose", ["We suspect pupils of this school"]]],
  ["Who has been told", ["choose", ["Our DSL (safeguarding lead)"]]],
  ["Your name, please", ["press", "Megan Bowen"]],
  ["your role at the school?", ["type", "Deputy Headteacher"]],
  ["How can POSH reach you?", ["type", "01632 960 123"]],
  ["Who will contact POSH?", ["choose", ["I'll contact POSH myself"]]], // so the handoff comes here
  ["Submit it now?", ["press", "Submit report"]],
];
const HANDOFF = "Next: hand TT-";
// What the bot sends once the report is filed: the handoff, and what may follow it.
const FILED = [HANDOFF, "Looking after yourselves", "When you have contacted POSH"];

async function shot(page, name) {
  const file = path.resolve(out, name);
  await page.screenshot({ path: file, fullPage: false });
  console.log(`saved ${file}`);
}

async function say(page, text) {
  const box = page.locator("[data-lexical-editor=true]").last(); // the compose box
  await box.click();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

async function act(page, [kind, what]) {
  if (kind === "type") await say(page, what);
  if (kind === "press") await page.getByRole("button", { name: what, exact: true }).last().click();
  if (kind === "choose") {
    for (const label of what) await page.getByText(label, { exact: true }).last().click();
    await page.getByRole("button", { name: "Continue", exact: true }).last().click();
  }
}

async function newestCard(page) {
  const cards = page.locator(".ac-adaptiveCard");
  return (await cards.count()) ? await cards.last().innerText() : "";
}

// The newest card once the bot has answered: changed since `before`, and still for a moment.
async function settled(page, before) {
  const deadline = Date.now() + STEP_WAIT;
  let seen = before;
  let still = 0;
  while (Date.now() < deadline) {
    await page.waitForTimeout(250);
    const now = await newestCard(page);
    still = now === seen ? still + 1 : 0;
    seen = now;
    if (now !== before && still >= 2) return now;
  }
  throw new Error(`the bot did not answer after: ${before.slice(0, 120)}`);
}

async function fileReport(page) {
  let card = await newestCard(page);
  await say(page, "report");
  for (let turn = 0; turn < 60; turn++) {
    card = await settled(page, card);
    if (FILED.some((marker) => card.includes(marker))) return;
    const rule = ANSWERS.find(([asks]) => card.includes(asks));
    if (!rule) throw new Error(`no answer for the card: ${card.slice(0, 200)}`);
    await act(page, rule[1]);
    if (rule[0] === "Who is targeted?") await shot(page, "2-report-a-question-with-choices.png");
  }
  throw new Error("the report did not finish in 60 turns");
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  try {
    await page.goto(PLAYGROUND, { waitUntil: "networkidle" });
    // The leadership team's channel first: opening it installs the bot in the team.
    await page.getByText("TikTok reports", { exact: true }).click();
    await page.getByText("post the case here", { exact: false }).last().waitFor({ timeout: STEP_WAIT });
    await shot(page, "1-leadership-channel-installed.png");
    await page.getByText("Personal Chat", { exact: true }).click();
    await page.getByText("Type report to start", { exact: false }).last().waitFor({ timeout: STEP_WAIT });
    await fileReport(page);
    const handoff = page.getByText(HANDOFF, { exact: false }).last();
    await handoff.waitFor({ timeout: STEP_WAIT });
    await handoff.scrollIntoViewIfNeeded();
    await page.waitForTimeout(500);
    await shot(page, "3-handoff-in-personal-chat.png");
    await page.getByText("TikTok reports", { exact: true }).click();
    await page.getByText("TikTok report TT-", { exact: false }).last().waitFor({ timeout: STEP_WAIT });
    await page.waitForTimeout(500);
    await shot(page, "4-case-card-in-leadership-channel.png");
    // A leader takes the case: the bot asks the Playground's roster, then updates the card.
    await page.getByRole("button", { name: "I'll contact POSH", exact: true }).last().click();
    const updated = page.getByText("Contacting POSH: Megan Bowen", { exact: false }).last();
    await updated.waitFor({ timeout: STEP_WAIT });
    await updated.scrollIntoViewIfNeeded();
    await shot(page, "5-card-updated-in-place-after-a-leader-pressed-a-button.png");
    console.log("a whole report reached the handoff and the leadership channel");
  } catch (error) {
    await shot(page, "failed.png");
    throw error;
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
