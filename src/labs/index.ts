/**
 * The teaching labs run by `tsmio lab N`: a registry from lab number to lab.
 */
import { lab1 } from "./lab1.js";
import { lab2 } from "./lab2.js";
import { lab3 } from "./lab3.js";
import { lab4 } from "./lab4.js";
import { lab5 } from "./lab5.js";
import { lab6 } from "./lab6.js";
import { lab7 } from "./lab7.js";
import { lab8 } from "./lab8.js";
import { lab9 } from "./lab9.js";

/** Where a lab writes what the learner sees. */
export interface LabOutput {
  /** Prints one line of text (no trailing newline). */
  line(text: string): void;
  /** An existing directory where the lab writes its pcaps and plots. */
  dir: string;
}

/** One teaching lab. */
export interface Lab {
  /** A short title, shown by the lab as its first line. */
  title: string;
  /** Runs the lab to completion, writing its output and files to `out`. */
  run(out: LabOutput): Promise<void>;
}

/** The labs, by number. */
export const LABS: Record<number, Lab> = {
  1: lab1,
  2: lab2,
  3: lab3,
  4: lab4,
  5: lab5,
  6: lab6,
  7: lab7,
  8: lab8,
  9: lab9,
};
