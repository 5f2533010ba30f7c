/** The daemon's status file in the state dir, rewritten every second; `status` reads it. */
export const STATUS_FILE = 'status.json'
