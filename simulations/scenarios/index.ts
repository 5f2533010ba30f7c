/** Every scenario `npm run sim` knows, by name. */
import { commute } from './commute.ts'
import { faults } from './faults.ts'
import { household } from './household.ts'
import type { Scenario } from './types.ts'

export const SCENARIOS: Record<string, Scenario> = {
  household,
  commute,
  faults,
}
