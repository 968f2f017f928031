// The nodemailer figure of `cargo xtask bench` (bridge/benches/outbox.rs runs it): nodemailer's
// pooled SMTP transport sends MESSAGES messages over CONNECTIONS connections to a server on
// 127.0.0.1, and this prints `{"messages":N,"failed":F,"seconds":S}` on one line.
//
// Usage: node nodemailer-pool.js PORT MESSAGES CONNECTIONS MAX_MESSAGES_PER_CONNECTION
// (`Infinity` is allowed for the last). `cargo xtask bench` installs nodemailer from
// package-lock.json beside this file into .tools/bench and sets NODE_PATH to it.
//
// The messages are built before the clock starts and sent as raw bytes, the same bytes as the
// outbox's (see `message` in bridge/benches/outbox.rs), so the figure is the transport's alone,
// as the outbox's figure is its delivery of messages already queued.

'use strict';

const nodemailer = require('nodemailer');

const FROM = 'from@example.com';
const TO = 'to@example.com';
const PATTERN = 'The quick brown fox jumps over the lazy dog. ';

function body() {
  let text = '';
  for (let line = 0; line < 16; line += 1) {
    // 62 characters and CRLF: 16 lines make 1024 bytes.
    text += `${String(line).padStart(2, '0')} ${PATTERN.repeat(2).slice(0, 59)}\r\n`;
  }
  return text;
}

function message(index, text) {
  return Buffer.from(
    `From: Bench <${FROM}>\r\n` +
      `To: <${TO}>\r\n` +
      `Subject: Benchmark message ${index}\r\n` +
      'Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n' +
      `Message-ID: <bench-nodemailer-${process.pid}-${index}@mailbridge.test>\r\n` +
      'MIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=us-ascii\r\n' +
      '\r\n' +
      text,
  );
}

async function main() {
  const [port, messages, connections, perConnection] = process.argv.slice(2);
  if (!port || !messages || !connections || !perConnection) {
    throw new Error('usage: node nodemailer-pool.js PORT MESSAGES CONNECTIONS MAX_MESSAGES');
  }
  const transporter = nodemailer.createTransport({
    host: '127.0.0.1',
    port: Number(port),
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: Number(connections),
    maxMessages: Number(perConnection),
  });
  const text = body();
  const raws = Array.from({ length: Number(messages) }, (_, index) => message(index, text));

  const started = process.hrtime.bigint();
  const results = await Promise.allSettled(
    raws.map((raw) => transporter.sendMail({ envelope: { from: FROM, to: [TO] }, raw })),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  transporter.close();

  const failures = results.filter((result) => result.status === 'rejected');
  if (failures.length > 0) {
    console.error(`nodemailer: ${failures.length} failed; the first: ${failures[0].reason}`);
  }
  console.log(
    JSON.stringify({
      messages: results.length - failures.length,
      failed: failures.length,
      seconds,
    }),
  );
}

main().catch((error) => {
  console.error(`nodemailer: ${error.stack || error}`);
  process.exit(1);
});
