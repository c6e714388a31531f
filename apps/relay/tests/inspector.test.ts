/// <reference lib="dom" />
/// <reference lib="dom.iterable" />

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FULL_SIG, REAL_MPC_SENDS } from '@mpc-relay/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay } from '../src/index.js';
import { browserAvailable, launchChromium, TEST_OUTPUT_DIR } from './browser.js';
import { Peer, tempDir } from './helpers.js';

// The inspector against a real relay: real WebSocket peers run the original PartialSig -> FullSig
// exchange, a spoofed reply and a message for an offline peer; a real Chromium shows it all live.

const fullSig = { action: 'sendServer', sourceId: 'cli123', operationType: 'FullSig', message: FULL_SIG };

let relay: Relay;
let dataDir: string;
const dirs: string[] = [];
const peers: Peer[] = [];
beforeAll(async () => {
  dataDir = tempDir('relay-inspector-');
  relay = await startRelay({ port: 0, dataDir, inspector: true });
});
afterAll(async () => {
  for (const peer of peers) peer.close();
  await relay?.close();
  for (const dir of [dataDir, ...dirs]) rmSync(dir, { recursive: true, force: true });
});

async function open(query: string): Promise<Peer> {
  const peer = await Peer.open(relay.url, query);
  peers.push(peer);
  return peer;
}

describe('inspector access', () => {
  it('is announced with a per-start token; without it the page and the feed answer 401, with a wrong one 403', async () => {
    expect(relay.inspectorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_inspector\/\?token=[\w-]{32}$/);
    const url = new URL(relay.inspectorUrl!);
    const page = `${url.origin}${url.pathname}`;
    const token = url.searchParams.get('token')!;
    expect((await fetch(page)).status).toBe(401);
    expect((await fetch(`${page}events`)).status).toBe(401);
    // One character changed (never to itself: a random token may end in any character).
    const wrong = `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`;
    expect((await fetch(`${page}?token=${wrong}`)).status).toBe(403);
    expect((await fetch(`${page}events?token=wrong`)).status).toBe(403);
    const ok = await fetch(relay.inspectorUrl!);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(ok.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await ok.text()).toContain('assets/app.js');

    // Another relay has another token.
    const otherDir = tempDir('relay-inspector-other-');
    const other = await startRelay({ port: 0, dataDir: otherDir, inspector: true });
    try {
      const otherToken = new URL(other.inspectorUrl!).searchParams.get('token');
      expect(otherToken).not.toBe(token);
      expect((await fetch(`${page}?token=${otherToken}`)).status).toBe(403);
    } finally {
      await other.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('the feed carries metadata, never payloads', async () => {
    const cli = await open('type=cli&cliId=feedcli');
    const mpc = await open('type=mpc&mpcId=feedmpc');
    const feed = await fetch(relay.inspectorUrl!.replace('/?token', '/events?token'));
    expect(feed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    mpc.send({ ...REAL_MPC_SENDS, sourceId: 'feedmpc', cliToMpc: { feedcli: 'feedmpc' } });
    await cli.next();
    const reader = feed.body!.getReader();
    let text = '';
    const delivered = /"from":"mpc:feedmpc","to":"cli:feedcli"[^}]*"outcome":"delivered"/;
    while (!delivered.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the feed ended without the delivered row: ${text}`);
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).not.toContain('accountHash');
    expect(text).not.toContain('"partialSig"');
    cli.close();
    mpc.close();
  });
});

describe('inspector bounds', () => {
  it('keeps the latest 500 timeline rows, however many frames went by', async () => {
    const peer = await open('type=cli&cliId=pinger');
    for (let i = 0; i < 520; i++) peer.send({ action: 'ping' });
    let pongs = 0;
    while (pongs < 520) if ((await peer.next()).startsWith('{"pong"')) pongs++;
    const feed = await fetch(relay.inspectorUrl!.replace('/?token', '/events?token'));
    const reader = feed.body!.getReader();
    let text = '';
    while (!text.includes('event: state')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const rows = JSON.parse(/event: rows\ndata: (.*)\n/.exec(text)![1]!) as { seq: number; route: string }[];
    expect(rows).toHaveLength(500);
    expect(rows.at(-1)!.route).toBe('ping');
    expect(rows.at(-1)!.seq - rows[0]!.seq).toBe(499);
    peer.close();
  });
});

/** Waits until the element's text contains every string. */
async function shows(page: Page, selector: string, ...texts: string[]): Promise<void> {
  await page.waitForFunction(
    ([sel, wanted]) => {
      const text = document.querySelector(sel as string)?.textContent ?? '';
      return (wanted as string[]).every((t) => text.includes(t));
    },
    [selector, texts] as const,
    { timeout: 20_000 },
  );
}

describe.skipIf(!browserAvailable)('inspector page in Chromium', () => {
  beforeAll(async () => {
    // A relay of its own, so the counters count this scenario only.
    for (const peer of peers.splice(0)) peer.close();
    await relay.close();
    const dir = tempDir('relay-inspector-page-');
    dirs.push(dir);
    relay = await startRelay({ port: 0, dataDir: dir, inspector: true });
  });

  it('shows peers, the conversation, the waiting message, timeline rows, refusals and counters, live', async () => {
    const cli = await open('type=cli&cliId=cli123');
    const mpc = await open('type=mpc&mpcId=IgniterC56D');
    // The original exchange.
    mpc.send(REAL_MPC_SENDS);
    expect(JSON.parse(await cli.next())).toMatchObject({ operationType: 'PartialSig', from: 'IgniterC56D' });
    // A spoofed reply (the cli claims to be the mpc): refused, and the mpc's next frame is the real reply.
    cli.send({ ...fullSig, sourceId: 'IgniterC56D' });
    expect(JSON.parse(await cli.next()).error.code).toBe('SPOOFED_SOURCE');
    cli.send(fullSig);
    expect(JSON.parse(await mpc.next())).toMatchObject({ operationType: 'FullSig', from: 'cli123' });

    const browser = await launchChromium();
    try {
      const requests: string[] = [];
      browser.context.on('request', (request) => requests.push(request.url()));
      const page = await browser.context.newPage();
      const origin = new URL(relay.inspectorUrl!).origin;
      const refused = await page.goto(`${origin}/_inspector/`);
      expect(refused?.status()).toBe(401);
      const answer = await page.goto(relay.inspectorUrl!);
      expect(answer?.status()).toBe(200);
      await shows(page, '[data-testid="feed-status"]', 'live');
      await shows(page, '[data-testid="connections"]', 'cli:cli123', 'mpc:IgniterC56D', 'v1');
      await shows(page, '[data-testid="conversations"]', 'cli:cli123', 'mpc:IgniterC56D');

      // Sent while the page is open: it must appear without a reload.
      mpc.send({ ...REAL_MPC_SENDS, cliToMpc: { cliOffline: 'IgniterC56D' } });
      await shows(page, '[data-testid="waiting"]', 'cli:cliOffline');
      await shows(page, '[data-testid="timeline"] tr[data-outcome="stored"]', 'cli:cliOffline', 'PartialSig');
      await shows(
        page,
        '[data-testid="timeline"] tr[data-outcome="refused"]',
        'SPOOFED_SOURCE',
        'cli:cli123',
      );
      const delivered = await page
        .locator('[data-testid="timeline"] tr[data-outcome="delivered"]')
        .allTextContents();
      expect(
        delivered.some(
          (r) => r.includes('mpc:IgniterC56D') && r.includes('cli:cli123') && r.includes('PartialSig'),
        ),
      ).toBe(true);
      expect(
        delivered.some(
          (r) => r.includes('cli:cli123') && r.includes('mpc:IgniterC56D') && r.includes('FullSig'),
        ),
      ).toBe(true);
      const waitingRow = await page.locator('[data-testid="waiting"] tbody tr').first().textContent();
      expect(waitingRow).toMatch(/^cli:cliOffline1\d+ B/);
      await shows(page, '[data-testid="refusal-codes"]', 'SPOOFED_SOURCE 1');
      const counter = async (name: string) =>
        Number(await page.locator(`[data-counter="${name}"] .value`).textContent());
      await page.waitForFunction(
        () => document.querySelector('[data-counter="relayed"] .value')?.textContent === '3',
        undefined,
        { timeout: 20_000 },
      );
      expect(await counter('refusals')).toBe(1);
      expect(await counter('posts')).toBeGreaterThanOrEqual(2);
      expect(await counter('dynamodb')).toBeGreaterThanOrEqual(6);
      // A refused row stands out.
      const problem = await page.locator('tr.problem').count();
      expect(problem).toBeGreaterThanOrEqual(1);
      await page.screenshot({ path: join(TEST_OUTPUT_DIR, 'inspector.png'), fullPage: true });

      // Text contrast (WCAG AA, 4.5:1) of every badge, counter, heading, label and table cell.
      const lowContrast = await page.evaluate(() => {
        const luminance = (color: string) => {
          const [r, g, b] = (color.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => {
            const c = Number(v) / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
          });
          return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
        };
        const background = (element: Element | null): string => {
          for (let e = element; e; e = e.parentElement) {
            const color = getComputedStyle(e).backgroundColor;
            if (color !== 'transparent' && !/, 0\)$/.test(color)) return color;
          }
          return 'rgb(255, 255, 255)';
        };
        const selector = '.badge, .counter span, h1, h2, th, td, .muted, .filters label, .codes, .status';
        return [...document.querySelectorAll(selector)].flatMap((element) => {
          const a = luminance(getComputedStyle(element).color);
          const b = luminance(background(element));
          const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
          return ratio < 4.5 ? [`${element.textContent?.slice(0, 40)}: ${ratio.toFixed(2)}`] : [];
        });
      });
      expect(lowContrast).toEqual([]);

      // Keyboard: the filters are reachable with Tab; the peer filter narrows the timeline.
      let focused = '';
      for (let i = 0; i < 30 && focused !== 'search'; i++) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type ?? '');
      }
      expect(focused).toBe('search');
      await page.keyboard.type('cliOffline');
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid="timeline"] tbody tr').length === 1,
      );
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.getByLabel('Operation type').selectOption('FullSig');
      const fullSigRows = await page.locator('[data-testid="timeline"] tbody tr').allTextContents();
      expect(fullSigRows.length).toBe(2);
      expect(fullSigRows.every((r) => r.includes('FullSig'))).toBe(true);
      await page.getByLabel('Operation type').selectOption('');

      // The sequence diagram.
      await page.getByLabel('Sequence diagram').check();
      await shows(
        page,
        '[data-testid="sequence-diagram"]',
        'mpc:IgniterC56D',
        'relay',
        'cli:cli123',
        'SPOOFED_SOURCE',
      );
      await page
        .locator('[data-testid="timeline"]')
        .screenshot({ path: join(TEST_OUTPUT_DIR, 'inspector-sequence.png') });

      // A disconnect with its close code.
      cli.close();
      await shows(page, '[data-testid="disconnects"]', 'cli:cli123', '1005');

      // The offline cli comes back: its waiting message is delivered, the stored row says when.
      const late = await open('type=cli&cliId=cliOffline');
      late.send({ action: 'getConnectionId' });
      // What waited is posted while getConnectionId runs, before its answer.
      expect(JSON.parse(await late.next())).toMatchObject({
        operationType: 'PartialSig',
        from: 'IgniterC56D',
      });
      expect(JSON.parse(await late.next())).toHaveProperty('connectionId');
      await page.getByLabel('Rows').check();
      await shows(page, '[data-testid="timeline"] tr[data-outcome="stored"]', 'cli:cliOffline', 'later');
      await shows(page, '[data-testid="waiting"]', 'Nothing waits');
      await shows(page, '[data-testid="connections"]', 'cli:cliOffline');

      // Readable in a narrow window: nothing wider than the viewport but the scrolling tables.
      await page.setViewportSize({ width: 390, height: 900 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(TEST_OUTPUT_DIR, 'inspector-narrow.png'), fullPage: true });

      // Nothing was fetched from anywhere but the relay, and no payload reached the page.
      expect(requests.length).toBeGreaterThan(0);
      expect(requests.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
      const html = await page.content();
      expect(html).not.toContain('accountHash');
      expect(html).not.toContain('signatureR');
    } finally {
      await browser.close();
    }
  });
});
