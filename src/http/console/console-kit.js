/**
 * What the operator console and the mapping workbench share: the key kept for the browser tab, DOM
 * building that only ever makes text nodes of data, and the API call with the key as a header. One
 * module, so that both pages store the key, refuse a revoked one and render problems the same way.
 */
export const KEY_STORAGE = 'continuum.console.key';

export const $ = (selector) => {
  const found = document.querySelector(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
};

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'onclick') node.addEventListener('click', value);
    else if (name === 'oninput') node.addEventListener('input', value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

/** The key, for this tab only: sessionStorage ends with the tab, and no cookie carries it. */
export const session = {
  get key() {
    return sessionStorage.getItem(KEY_STORAGE);
  },
  set(key) {
    sessionStorage.setItem(KEY_STORAGE, key);
  },
  clear() {
    sessionStorage.removeItem(KEY_STORAGE);
  },
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

/**
 * The API call of a page: the key as a header, credentials (cookies) never sent. A refused key
 * (401) calls `onKeyRefused`, which signs the page out, before the error is thrown.
 */
export function apiClient(onKeyRefused) {
  return async function api(method, path, body, signal, extraHeaders = {}) {
    const key = session.key;
    if (!key) throw new ApiError(401, { detail: 'not signed in' });
    const headers = { ...extraHeaders, authorization: `Bearer ${key}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, {
      method,
      headers,
      credentials: 'omit',
      cache: 'no-store',
      signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.status === 401) {
      onKeyRefused();
      throw new ApiError(401, parsed);
    }
    if (!res.ok) throw new ApiError(res.status, parsed);
    return parsed;
  };
}

/**
 * The sign-in form of a page: the key typed in is kept for the tab and the field emptied at once;
 * `start` then runs the page. The sign-out button calls `signOut`.
 */
export function wireSignIn(start, signOut) {
  $('#sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('#api-key');
    const key = input.value.trim();
    input.value = '';
    if (!key) {
      $('#sign-in-error').textContent = 'Enter an API key.';
      return;
    }
    session.set(key);
    $('#sign-in-error').textContent = '';
    void start();
  });
  $('#sign-out').addEventListener('click', () => signOut());
}
