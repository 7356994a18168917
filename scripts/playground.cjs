// Files a whole report through Microsoft 365 Agents Playground in headless Chromium, as a
// member of staff would in Teams, then opens the leadership channel. Screenshots go to the
// folder given as the first argument. Run by scripts/playground.sh, which starts the bot and
// the Playground; playwright-core comes from its scratch folder (NODE_PATH).
const { chromium } = require("playwright-core");
const path = require("path");

const PLAYGROUND = process.env.PLAYGROUND_URL || "http://localhost:56150";
const LINK = "https://www.tiktok.com/@fake.head.teacher";
const out = process.argv[2] || "playground-shots";
const STEP_WAIT = 20_000; // ms for the bot's next card

// One step: what the person does, then a line of the card that should come next.
const REPORT = [
  ["type", "report", "Paste the TikTok link"],
  ["type", LINK, "Got 1: @fake.head.teacher"],
  ["press", "That's all", "What kind of harm is it?"],
  ["choose", ["Fake account / impersonating staff or the school", "Harassment or bullying"], "Is anyone in immediate danger"],
  ["press", "No", "sexual or nude images"],
  ["press", "No", "Who is targeted?"],
  ["choose", ["A member of staff"], "Which member of staff?"],
  ["type", "Ms J Patel, Head of Year 9", "When was it first seen?"],
  ["press", "Today", "Report button?"],
  ["press", "Yes", "When was it reported in the app?"],
  ["press", "Yesterday", "What did TikTok say?"],
  ["choose", ["“No violation” – they left it up"], "Do you have screenshots"],
  ["choose", ["Yes, with the link and date showing"], "Do you know who is behind it?"],
  ["choose", ["We suspect pupils of this school"], "What is your role at the school?"],
  ["type", "Deputy Headteacher", "How can POSH reach you?"],
  ["type", "01632 960 123", "Submit it now?"],
  ["press", "Submit report", "Next: hand TT-"],
];

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

async function act(page, [kind, what, next]) {
  if (kind === "type") await say(page, what);
  if (kind === "press") await page.getByRole("button", { name: what, exact: true }).last().click();
  if (kind === "choose") {
    for (const label of what) await page.getByText(label, { exact: true }).last().click();
    await page.getByRole("button", { name: "Continue", exact: true }).last().click();
  }
  await page.getByText(next, { exact: false }).last().waitFor({ timeout: STEP_WAIT });
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
    for (const [n, step] of REPORT.entries()) {
      await act(page, step);
      if (n === 3) await shot(page, "2-report-a-question-with-choices.png");
    }
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
