/** An answer body read as text (listings, error documents). */
import type { AnswerBody } from './answer-body.ts';

/** A body read to its end as UTF-8 text, keeping about `max` characters at most. */
export async function readText(body: AnswerBody, max = Number.POSITIVE_INFINITY): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of body) if (text.length < max) text += decoder.decode(chunk, { stream: true });
  return text.length < max ? text + decoder.decode() : text;
}
