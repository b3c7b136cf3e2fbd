/**
 * The web chat page and its style sheet, as strings compiled into the build (tsc copies no other
 * files). No inline script or style anywhere: the page's CSP allows only /chat/app.js and
 * /chat/app.css from this origin.
 */

/** GET /chat: the page. It holds no data; everything the visitor reads is added by app.js as text. */
export const CHAT_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Teller</title>
<link rel="stylesheet" href="/chat/app.css">
<script src="/chat/app.js" defer></script>
</head>
<body>
<main>
<header><h1>Teller</h1><p>Your bank's assistant. Never share card numbers, PINs or passwords here.</p></header>
<ol id="log" aria-live="polite" aria-label="Conversation"></ol>
<p id="status" role="status"></p>
<form id="composer" autocomplete="off">
<input id="text" name="text" maxlength="4096" aria-label="Your message" placeholder="Ask about your balance…" required>
<button type="submit">Send</button>
</form>
</main>
</body>
</html>
`;

/** GET /chat/app.css. Replies keep their line breaks (pre-wrap): the core writes plain text. */
export const CHAT_PAGE_CSS = `*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,sans-serif;background:#f3f4f6;color:#111827}
main{max-width:40rem;margin:0 auto;min-height:100vh;display:flex;flex-direction:column;background:#fff}
header{padding:.75rem 1rem;border-bottom:1px solid #e5e7eb}
header h1{margin:0;font-size:1.25rem}
header p{margin:.25rem 0 0;font-size:.85rem;color:#4b5563}
#log{flex:1;list-style:none;margin:0;padding:1rem;overflow-y:auto}
#log li{margin:.5rem 0;display:flex;flex-direction:column}
#log p{margin:0;padding:.5rem .75rem;border-radius:.75rem;max-width:85%;white-space:pre-wrap;overflow-wrap:anywhere}
#log li.visitor{align-items:flex-end}
#log li.visitor p{background:#1d4ed8;color:#fff}
#log li.teller p{background:#e5e7eb}
#log li.notice p{background:none;color:#6b7280;font-size:.85rem}
.choices{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.5rem}
.choices button{border:1px solid #1d4ed8;background:#fff;color:#1d4ed8;border-radius:1rem;padding:.25rem .75rem;cursor:pointer}
#status{margin:0;padding:0 1rem;min-height:1.4em;color:#b91c1c;font-size:.85rem}
form{display:flex;gap:.5rem;padding:.75rem 1rem;border-top:1px solid #e5e7eb}
form input{flex:1;padding:.5rem;border:1px solid #d1d5db;border-radius:.5rem;font:inherit}
form button{padding:.5rem 1rem;border:0;border-radius:.5rem;background:#1d4ed8;color:#fff;font:inherit}
`;
