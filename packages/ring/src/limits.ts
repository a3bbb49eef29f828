/** The most partitions a ring may have: 2^16, so a partition number fits the top 16 bits of a position. */
export const partitionCountMax = 65_536;
/** The most members a ring may have: bounds claim's work and every walk over the members. */
export const membersMax = 1_024;
/** The longest member id or zone name, in characters. */
export const nameLengthMax = 256;
