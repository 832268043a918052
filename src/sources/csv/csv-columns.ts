/**
 * The columns of the district CSV files (docs/csv-format.md), in the order `export-csv` writes
 * them. The import spec (`FILE_SPECS` in csv-mapper.ts) and the writer both come from these lists,
 * so a column is read and written alike, or not at all.
 */

export const SCHOOL_COLUMNS = [
  'school_sis_id',
  'school_number',
  'school_state_id',
  'name',
  'low_grade',
  'high_grade',
  'address',
  'city',
  'state',
  'zip',
  'phone',
  'principal_name',
  'principal_email',
] as const;

export const STUDENT_COLUMNS = [
  'student_sis_id',
  'student_number',
  'student_state_id',
  'first_name',
  'middle_name',
  'last_name',
  'preferred_first_name',
  'grade_year',
  'school_sis_id',
  'school_number',
  'school_state_id',
  'email',
  'birthday',
  'gender',
  'race',
  'hispanic_ethnicity',
  'ell_status',
  'iep_status',
  'frl_status',
  'section_504_status',
  'graduation_year',
  'home_language',
] as const;

export const STAFF_COLUMNS = [
  'staff_id',
  'staff_sis_id',
  'teacher_number',
  'first_name',
  'last_name',
  'email',
  'role',
  'access_type',
  'school_number_list',
  'grades',
  'title',
] as const;

/** staff_overrides.csv columns after the key column. */
export const OVERRIDE_COLUMNS = [
  'title',
  'role',
  'access_type',
  'school_number_list',
  'grades',
  'email',
] as const;

/**
 * The column of each staff key type: the district's chosen key in school_staff.csv, and the key
 * column of a staff_overrides.csv (stored override key types are the same names).
 */
export const STAFF_KEY_COLUMNS = {
  staff_id: 'staff_id',
  sis_id: 'staff_sis_id',
  teacher_number: 'teacher_number',
} as const;

/** The column of each student key type (the district's chosen key in students.csv). */
export const STUDENT_KEY_COLUMNS = {
  sis_id: 'student_sis_id',
  student_number: 'student_number',
  state_id: 'student_state_id',
} as const;
