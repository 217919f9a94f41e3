import type { ReactElement } from 'react';
import type { CliIo } from './io.js';

/** Events can arrive hundreds of times a second; a person can read about one frame per 50 ms. */
export const RENDER_INTERVAL_MS = 50;

/** An Ink view driven by the event stream: fold every event, draw at most once per interval. */
export interface LiveView<E, R> {
  update(event: E): void;
  /** Draws the final report and ends the Ink instance. */
  finish(report: R): Promise<void>;
  /** Ends the Ink instance without a report (the run failed). */
  abandon(): Promise<void>;
}

export interface LiveViewSpec<S, E, R> {
  initial: S;
  reduce(state: S, event: E): S;
  withReport(state: S, report: R): S;
  view(state: S): ReactElement;
}

/**
 * Starts the Ink view used by detect, peer and trials. Ink loads only here, so runs that print
 * JSON or plain lines never pay for it.
 */
export async function startLiveView<S, E, R>(io: CliIo, spec: LiveViewSpec<S, E, R>): Promise<LiveView<E, R>> {
  const { render } = await import('ink');
  let state = spec.initial;
  const instance = render(spec.view(state), { stdout: io.stdout as NodeJS.WriteStream, patchConsole: false });
  let timer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    timer = undefined;
    instance.rerender(spec.view(state));
  };
  const stop = async (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    instance.unmount();
    await instance.waitUntilExit();
  };
  return {
    update(event) {
      state = spec.reduce(state, event);
      timer ??= setTimeout(draw, RENDER_INTERVAL_MS);
    },
    async finish(report) {
      state = spec.withReport(state, report);
      draw();
      await stop();
    },
    abandon: stop,
  };
}
