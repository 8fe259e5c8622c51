/** What a wait for the EHR yields when the EHR has not answered by then. */
export const SLOW = Symbol('the EHR has not answered yet');

/** The answer, or SLOW once `ms` pass first; the work itself goes on either way. */
export async function answerWithin<T>(work: Promise<T>, ms: number): Promise<T | typeof SLOW> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<typeof SLOW>((resolve) => {
    timer = setTimeout(() => {
      resolve(SLOW);
    }, ms);
  });
  try {
    return await Promise.race([work, slow]);
  } finally {
    clearTimeout(timer);
  }
}
