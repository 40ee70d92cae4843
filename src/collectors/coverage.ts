import { gauge, type Labels } from '../exposition/family.js';
import { deviceLabels, pauseBefore, stepwise, type CycleCollector } from './collector.js';

// Scrape coverage: for every device, why it is or is not scraped, and the share of the devices meant to
// be scraped that were. Bounded states, so this is safe as a label.

export type CoverageState =
  'scraped' | 'failing' | 'untagged' | 'excluded' | 'offline' | 'client_too_old' | 'address_refused' | 'other_shard';

/** States of devices that should be scraped: the denominator of the coverage ratio. */
const WANTED: ReadonlySet<CoverageState> = new Set(['scraped', 'failing', 'client_too_old', 'address_refused']);

export const coverageCollector: CycleCollector = {
  name: 'client_metrics',
  stage: 'cycle',
  ...stepwise(function* ({ selections, scrapes }) {
    const samples: Array<readonly [Labels, number]> = [];
    let wanted = 0;
    let scraped = 0;
    for (let i = 0; i < selections.length; i++) {
      if (pauseBefore(i)) yield;
      const s = selections[i]!;
      const state: CoverageState =
        s.state === 'eligible' ? (scrapes.get(s.device.id)?.last.ok === true ? 'scraped' : 'failing') : s.state;
      samples.push([{ ...deviceLabels(s.device), state }, 1]);
      if (WANTED.has(state)) wanted++;
      if (state === 'scraped') scraped++;
    }
    return [
      gauge(
        'tsmetrics_device_scrape_coverage',
        'Why the device client metrics are or are not scraped (state), value 1.',
        samples,
      ),
      gauge(
        'tsmetrics_scrape_coverage_ratio',
        'Share of the devices meant to be scraped (tagged or targeted and online) whose scrape succeeded.',
        wanted === 0 ? [] : [[{}, scraped / wanted]],
      ),
    ];
  }),
};
