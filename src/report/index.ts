/** Reports: plan rendering (text, Markdown, JSON). Status documents are added by the daemon work. */
export type { MarkdownOptions } from './plan-markdown.js';
export { mdCell, renderPlanMarkdown } from './plan-markdown.js';
export { planToJson, renderPlanJson } from './plan-json.js';
export type { TextOptions } from './plan-text.js';
export { KIND_STYLE, planSummaryLine, renderPlanText } from './plan-text.js';
export type { LastAction, StatusCounts, StatusInput } from './status.js';
export { computeStatusDocs, renderStatusSummary, renderStatusYaml, statusCommitMessage, statusCounts, statusFiles } from './status.js';
