// Small embedded word lists for realistic, deterministic data. Written for this project (not taken
// from a dataset). Names deliberately include non-ASCII letters, apostrophes, spaces and hyphens,
// because real rosters do and sync engines must round-trip them untouched.

// prettier-ignore
export const FIRST_NAMES: readonly string[] = [
  'Aaliyah', 'Aaron', 'Abigail', 'Adam', 'Adriana', 'Ahmed', 'Aidan', 'Aiko', 'Aisha', 'Alejandro',
  'Alexander', 'Alexis', 'Ali', 'Alice', 'Alicia', 'Amara', 'Amelia', 'Amir', 'Ana', 'Anaya',
  'Andrea', 'Andrés', 'Ángel', 'Anika', 'Anna', 'Anthony', 'Aoife', 'Arjun', 'Aryan', 'Asher',
  'Aubrey', 'Audrey', 'Ava', 'Axel', 'Ayumi', 'Bao', 'Beatriz', 'Benjamin', 'Bianca', 'Björn',
  'Brandon', 'Brianna', 'Brooklyn', 'Caleb', 'Camila', 'Carlos', 'Carmen', 'Catalina', 'Charlotte', 'Chen',
  'Chloé', 'Christopher', 'Claire', 'Cristina', 'Daniel', 'Daniela', 'David', 'Deja', 'Delfina', 'Diego',
  'Dmitri', 'Dylan', 'Elena', 'Eli', 'Elijah', 'Elizabeth', 'Ella', 'Emeka', 'Emily', 'Emma',
  'Esperanza', 'Ethan', 'Eva', 'Evelyn', 'Ezra', 'Fatima', 'Felipe', 'Fernando', 'Finn', 'François',
  'Gabriel', 'Gabriela', 'Genesis', 'Giovanni', 'Grace', 'Guadalupe', 'Hailey', 'Hana', 'Hannah', 'Harper',
  'Hassan', 'Hiroshi', 'Hugo', 'Ian', 'Ibrahim', 'Imani', 'Inés', 'Isaac', 'Isabella', 'Ivan',
  'Jack', 'Jackson', 'Jada', 'Jamal', 'James', 'Jasmine', 'Javier', 'Jayden', 'Jiho', 'Jin',
  'João', 'Jonah', 'Jordan', 'José', 'Joseph', 'Joshua', 'Juan', 'Julia', 'Julian', 'Jürgen',
  'Kai', 'Kamala', 'Kavya', 'Kayla', 'Keanu', 'Kenji', 'Khadija', 'Kiara', 'Kofi', 'Lamar',
  'Layla', 'Leah', 'Leilani', 'Leo', 'Liam', 'Lila', 'Lily', 'Linh', 'Logan', 'Lucas',
  'Lucía', 'Luis', 'Łukasz', 'Luna', 'Madison', 'Maja', 'Makayla', 'Malik', 'Małgorzata', 'Manuel',
  'Marcus', 'María', 'Mariam', 'Mason', 'Mateo', 'Matthew', 'Maya', 'Mei', 'Mia', 'Michael',
  'Miguel', 'Mila', 'Min-jun', 'Mohammed', 'Nadia', 'Naomi', 'Natalia', 'Nathan', 'Nia', 'Nicolás',
  'Noah', 'Nora', 'Nour', 'Oliver', 'Olivia', 'Omar', 'Oscar', 'Owen', 'Pablo', 'Paola',
  'Parker', 'Priya', 'Quinn', 'Rafael', 'Rahul', 'Renée', 'Reza', 'Riley', 'Rosa', 'Ruby',
  'Ryan', 'Saanvi', 'Samantha', 'Samuel', 'Santiago', 'Sara', 'Sebastián', 'Seo-yeon', 'Seán', 'Siddharth',
  'Siobhán', 'Sofía', 'Søren', 'Sophia', 'Stella', 'Sunita', 'Taylor', 'Thanh', 'Theo', 'Thomas',
  'Tiana', 'Tomás', 'Trinity', 'Tyler', 'Valentina', 'Valeria', 'Victoria', 'Vikram', 'Violet', 'Wei',
  'William', 'Xavier', 'Ximena', 'Yara', 'Yasmin', 'Yusuf', 'Yuki', 'Zainab', 'Zara', 'Zoë',
  'Zuri', 'Élodie', 'Ayşe', 'Mehmet', 'Dương', 'Thảo', 'Jean-Luc', 'Mary Kate', 'Anne-Marie', 'DeShawn',
];

// prettier-ignore
export const LAST_NAMES: readonly string[] = [
  'Abara', 'Adams', 'Aguilar', 'Ahmed', 'Ali', 'Allen', 'Álvarez', 'Anderson', 'Bailey', 'Baker',
  'Banerjee', 'Barnes', 'Bélanger', 'Bell', 'Bennett', 'Brooks', 'Brown', 'Bui', 'Butler', 'Campbell',
  'Castillo', 'Castro', 'Chavez', 'Chen', 'Cho', 'Clark', 'Coleman', 'Collins', 'Cook', 'Cooper',
  'Côté', 'Cruz', 'Dang', "D'Angelo", 'Davis', 'De La Cruz', 'Delgado', 'Diaz', 'Domínguez', 'Dvořák',
  'Edwards', 'Evans', 'Fernández', 'Fischer', 'Flores', 'Foster', 'García', 'Gomez', 'Gómez', 'González',
  'Gonzalez', 'Gray', 'Green', 'Gupta', 'Gutiérrez', 'Hall', 'Harris', 'Hassan', 'Hayes', 'Hernández',
  'Hill', 'Hoàng', 'Howard', 'Huang', 'Hughes', 'Ibrahim', 'Ito', 'Jackson', 'James', 'Jenkins',
  'Jiménez', 'Johnson', 'Jones', 'Kaur', 'Kelly', 'Khan', 'Kim', 'King', 'Kowalski', 'Kumar',
  'Lê', 'Lee', 'Lefèvre', 'Lewis', 'Li', 'Lin', 'Liu', 'Long', 'Lopez', 'López',
  'Martin', 'Martinez', 'Martínez', 'McDonald', 'Mendoza', 'Miller', 'Mitchell', 'Moore', 'Morales', 'Morgan',
  'Morris', 'Müller', 'Murphy', 'Murray', 'Nakamura', 'Nelson', 'Nguyen', 'Nguyễn', 'Núñez', "O'Brien",
  "O'Connor", 'Okafor', 'Okonkwo', 'Olsen', 'Ortiz', 'Öztürk', 'Park', 'Patel', 'Peña', 'Perez',
  'Pérez', 'Perry', 'Peterson', 'Phạm', 'Phillips', 'Powell', 'Price', 'Ramirez', 'Ramírez', 'Reddy',
  'Reed', 'Reyes', 'Richardson', 'Rivera', 'Roberts', 'Robinson', 'Rodriguez', 'Rodríguez', 'Rogers', 'Romero',
  'Ross', 'Ruiz', 'Russell', 'Şahin', 'Sanchez', 'Sánchez', 'Sanders', 'Santos', 'Sato', 'Schmidt',
  'Scott', 'Shah', 'Silva', 'Šimić', 'Singh', 'Smith', 'Smith-Jones', 'Song', 'St. John', 'Stewart',
  'Sullivan', 'Suzuki', 'Tanaka', 'Taylor', 'Thomas', 'Thompson', 'Torres', 'Trần', 'Tran', 'Turner',
  'Van der Berg', 'Vargas', 'Vásquez', 'Vo', 'Võ', 'Walker', 'Wang', 'Ward', 'Washington', 'Watson',
  'White', 'Williams', 'Wilson', 'Wong', 'Wood', 'Wright', 'Wu', 'Xu', 'Yamamoto', 'Yang',
  'Yılmaz', 'Young', 'Zhang', 'Zhao', 'Zimmermann', 'Abebe', 'Achterberg', 'Begay', 'Yazzie', 'Kealoha',
  'Mahoe', 'Tuilagi', 'Fonoti', 'Haddad', 'Nasser', 'Mansour', 'Petrov', 'Ivanova', 'Kovalenko', 'Horvath',
];

// prettier-ignore
export const PLACE_NAMES: readonly string[] = [
  'Lakeside', 'Cedar Ridge', 'Riverbend', 'Maple Valley', 'Granite Falls', 'Sunnyvale', 'Pinecrest', 'Harbor View',
  'Willow Creek', 'Oak Hollow', 'Brookfield', 'Eastport', 'Fairmont', 'Highland Park', 'Mesa Verde', 'Silver Lake',
];

// prettier-ignore
export const SCHOOL_STEMS: readonly string[] = [
  'Lincoln', 'Roosevelt', 'Cesar Chavez', 'Maplewood', 'Sojourner Truth', 'Jefferson', 'Sequoia', 'Harriet Tubman',
  'Franklin', 'Dolores Huerta', 'Hillcrest', 'Washington', 'Sally Ride', 'Fremont', 'Valley View', 'Sunset',
  'Madison', 'Thurgood Marshall', 'Parkside', 'Ellen Ochoa', 'Redwood', 'Grant', 'Bayview', 'Mountain View',
];

// prettier-ignore
export const STREETS: readonly string[] = [
  'Main St', 'Oak Ave', 'Pine St', 'Maple Dr', 'Cedar Ln', 'Elm St', 'Washington Blvd', 'Lake Rd',
  'Hillside Ave', 'Park Pl', 'Sunset Blvd', 'River Rd', 'Church St', 'Mill St', 'Highland Ave', 'Forest Dr',
];

export const CITIES: readonly string[] = [
  'Springfield',
  'Riverside',
  'Franklin',
  'Greenville',
  'Fairview',
  'Clinton',
  'Salem',
  'Madison',
];

export const STATES: readonly string[] = ['CA', 'TX', 'NY', 'WA', 'IL', 'GA', 'OR', 'MN'];

export interface CourseTemplate {
  name: string;
  subject: string;
}

/** Course catalogue; `subject` uses Clever's section subject enum. */
export const COURSE_TEMPLATES: readonly CourseTemplate[] = [
  { name: 'Mathematics', subject: 'math' },
  { name: 'English Language Arts', subject: 'english/language arts' },
  { name: 'Science', subject: 'science' },
  { name: 'Social Studies', subject: 'social studies' },
  { name: 'Spanish', subject: 'language' },
  { name: 'Homeroom', subject: 'homeroom/advisory' },
  { name: 'Reading Intervention', subject: 'interventions/online learning' },
  { name: 'Computer Science', subject: 'technology and engineering' },
  { name: 'Physical Education', subject: 'PE and health' },
  { name: 'Art', subject: 'arts and music' },
  { name: 'Algebra I', subject: 'math' },
  { name: 'Biology', subject: 'science' },
  { name: 'World History', subject: 'social studies' },
  { name: 'Band', subject: 'arts and music' },
  { name: 'Geometry', subject: 'math' },
  { name: 'Chemistry', subject: 'science' },
  { name: 'American Literature', subject: 'english/language arts' },
  { name: 'French', subject: 'language' },
  { name: 'Health', subject: 'PE and health' },
  { name: 'Study Skills', subject: 'other' },
];

export const TEACHER_TITLES: readonly string[] = [
  'Teacher',
  'Classroom Teacher',
  'Lead Teacher',
  'Instructor',
];
// prettier-ignore
export const STAFF_TITLES: readonly string[] = [
  'Principal', 'Assistant Principal', 'Counselor', 'Librarian', 'Office Manager', 'Nurse', 'Instructional Coach',
];
export const STAFF_DEPARTMENTS: readonly string[] = [
  'Administration',
  'Student Services',
  'Library',
  'Health',
  'Office',
];
export const ADMIN_TITLES: readonly string[] = [
  'Director of Technology',
  'Superintendent',
  'Data Coordinator',
];

/** A subset of the spec's home_language / home_language_code enum (v3.1), as name/code pairs. */
// prettier-ignore
export const HOME_LANGUAGES: ReadonlyArray<readonly [string, string]> = [
  ['English', 'eng'], ['Spanish', 'spa'], ['Vietnamese', 'vie'], ['Chinese', 'zho'], ['Mandarin', 'cmn'],
  ['Cantonese', 'yue'], ['Arabic', 'ara'], ['Tagalog', 'tgl'], ['Korean', 'kor'], ['Russian', 'rus'],
  ['Somali', 'som'], ['Hmong', 'hmn'], ['Haitian Creole', 'hat'], ['Portuguese', 'por'], ['French', 'fra'],
  ['Farsi', 'fas'], ['Urdu', 'urd'], ['Hindi', 'hin'], ['Japanese', 'jpn'], ['Ukrainian', 'ukr'],
  ['Polish', 'pol'], ['Amharic', 'amh'], ['Karen', 'kar'], ['Marshallese', 'mah'], ['Punjabi', 'pan'],
  ['Bengali', 'ben'],
];

export const DISABILITIES: ReadonlyArray<readonly [string, string]> = [
  ['Autism', 'aut'],
  ['Specific learning disability', 'sld'],
  ['Speech or language impairment', 'sli'],
  ['Other health impairment', 'ohi'],
  ['Developmental delay', 'dd'],
  ['Hearing impairment', 'hi'],
];

let asciiCache: Map<string, string> | undefined;

/** Lower-case ASCII form of a name for emails and usernames ("Nguyễn" → "nguyen", "O'Brien" → "obrien"). */
export function asciiSlug(name: string): string {
  asciiCache ??= new Map();
  let s = asciiCache.get(name);
  if (s === undefined) {
    s = name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/ł/g, 'l')
      .replace(/Ł/g, 'l')
      .replace(/ı/g, 'i')
      .replace(/đ/g, 'd')
      .replace(/Đ/g, 'd')
      .replace(/ø/g, 'o')
      .replace(/[^A-Za-z]/g, '')
      .toLowerCase();
    asciiCache.set(name, s);
  }
  return s;
}
