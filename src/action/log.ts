/**
 * The action's log: every line goes through the log-line sink (src/output/log-line.ts) before the runner sees it.
 * `core.info` writes its text raw, so a proxy's answer or a certificate name with a line break in it could otherwise
 * put `::set-output`, `::add-mask::` or `::save-state` on a line of its own; annotations are escaped by core, but not
 * of ANSI escapes. Multi-line text of org-ca's own (a rendered report) is made safe line by line.
 */
import * as core from '@actions/core';
import { logLine, logLines } from '../output/log-line.js';
import { defined } from '../lang/present.js';

type Properties = core.AnnotationProperties;

function safeProperties(properties?: Properties): Properties | undefined {
  if (!properties) return undefined;
  return {
    ...properties,
    ...defined({
      title: properties.title !== undefined ? logLine(properties.title) : undefined,
      file: properties.file !== undefined ? logLine(properties.file) : undefined,
    }),
  };
}

export const log = {
  info: (message: string): void => core.info(logLine(message)),
  /** org-ca's own multi-line text, each line made safe. */
  text: (message: string): void => core.info(logLines(message)),
  notice: (message: string, properties?: Properties): void => core.notice(logLine(message), safeProperties(properties)),
  warning: (message: string, properties?: Properties): void =>
    core.warning(logLine(message), safeProperties(properties)),
  error: (message: string, properties?: Properties): void => core.error(logLine(message), safeProperties(properties)),
  setFailed: (message: string): void => core.setFailed(logLine(message)),
};
