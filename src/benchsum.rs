//! Reads criterion's saved estimates and prints ratio tables (`racelab bench`).
