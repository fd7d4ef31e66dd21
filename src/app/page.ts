import { LIMITS, type Post } from './posts.ts';

// The HTML of the site, rendered by hand: one page, so a template engine would be more weight than help.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export interface PageModel {
  readonly siteName: string;
  readonly servedBy: string;
  readonly posts: readonly Post[];
  /** The id to page back from, when there are older posts. */
  readonly olderThan?: number;
  readonly csrfToken: string;
  /** The idempotency key of this form's post: sent twice, it is stored once. */
  readonly formKey: string;
  readonly errors?: Record<string, string>;
  readonly draft?: { author?: string; body?: string };
  readonly notice?: string;
}

export function renderPage(model: PageModel): string {
  const e = escapeHtml;
  const errors = model.errors ?? {};
  const list =
    model.posts.length === 0
      ? '<p class="empty">No posts yet. Be the first.</p>'
      : `<ol class="posts">\n${model.posts.map(renderPost).join('\n')}\n</ol>`;
  const older = model.olderThan === undefined ? '' : `<p class="pager"><a href="/?before=${model.olderThan}">Older posts →</a></p>`;
  const errorList = Object.values(errors).length
    ? `<ul class="errors" role="alert">${Object.values(errors).map((m) => `<li>${e(m)}</li>`).join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(model.siteName)}</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="/static/logo.svg" type="image/svg+xml">
</head>
<body>
<header><img src="/static/logo.svg" alt="" width="32" height="32"><h1>${e(model.siteName)}</h1></header>
<main>
${model.notice ? `<p class="notice">${e(model.notice)}</p>` : ''}
<form method="post" action="/posts">
<input type="hidden" name="csrf" value="${e(model.csrfToken)}">
<input type="hidden" name="key" value="${e(model.formKey)}">
${errorList}
<label>Name <input name="author" maxlength="${LIMITS.author}" required value="${e(model.draft?.author ?? '')}"></label>
<label>Post <textarea name="body" maxlength="${LIMITS.body}" required rows="3">${e(model.draft?.body ?? '')}</textarea></label>
<button type="submit">Post</button>
</form>
${list}
${older}
</main>
<footer>served by <code>${e(model.servedBy)}</code></footer>
</body>
</html>
`;
}

function renderPost(post: Post): string {
  const e = escapeHtml;
  return `<li id="post-${post.id}"><p>${e(post.body)}</p><small>${e(post.author)} · <time datetime="${e(post.createdAt)}">${e(post.createdAt.replace('T', ' ').slice(0, 16))}</time></small></li>`;
}
